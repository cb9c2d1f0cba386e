"""A deployment's Python environment, resolved and built as Azure builds it, and cached.

`spec` reads what an environment is from the files Azure reads (an MLflow model's conda.yaml,
python_env.yaml and requirements.txt plus what Azure's MLflow image adds; a custom environment's
conda file); `interpreters` picks the local Python; `build` installs with uv; `cache` keeps built
environments by a key of their requirements, Python and platform, shared by every deployment.

Every instance of the emulator runs in the environment built for its deployment (the instance
pool builds it when the deployment is provisioned, `rollout.emulator.instances.runtime`).
"""

from rollout.emulator.environments.build import BuildOptions, Progress
from rollout.emulator.environments.cache import BuiltEnvironment, EnvironmentCache, environment_key
from rollout.emulator.environments.failures import (
    EnvironmentBuildFailed,
    EnvironmentKind,
    EnvironmentNotEmulated,
    EnvironmentProblem,
    EnvironmentSpecInvalid,
)
from rollout.emulator.environments.installer import isolated_environ
from rollout.emulator.environments.spec import (
    EnvironmentSpec,
    for_custom_environment,
    for_mlflow_model,
    refuse_registered,
)

__all__ = [
    "BuildOptions",
    "BuiltEnvironment",
    "EnvironmentBuildFailed",
    "EnvironmentCache",
    "EnvironmentKind",
    "EnvironmentNotEmulated",
    "EnvironmentProblem",
    "EnvironmentSpec",
    "EnvironmentSpecInvalid",
    "Progress",
    "environment_key",
    "for_custom_environment",
    "for_mlflow_model",
    "isolated_environ",
    "refuse_registered",
]
