"""rollout: gated blue/green releases of MLflow models to Azure ML managed online endpoints."""

import os

__version__ = "0.1.0"
DISTRIBUTION = "rollout-azureml"  # the name pip installs it by; the command and the package are `rollout`
LOCAL_CLOUD_PREFIX = "rollout-local-"  # the clouds of local MLClients: rollout-local-<port>

# azure-ai-ml records the cloud it last used in os.environ (AZUREML_CURRENT_CLOUD), and importing
# azure.ai.ml fails in a child process that inherits the name of a cloud it has not registered.
# Our local clouds are registered anew by every MLClient the emulator target builds, so a name
# inherited from a parent process is dropped before anything imports azure.ai.ml.
if os.environ.get("AZUREML_CURRENT_CLOUD", "").startswith(LOCAL_CLOUD_PREFIX):
    del os.environ["AZUREML_CURRENT_CLOUD"]
