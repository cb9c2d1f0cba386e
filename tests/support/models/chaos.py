"""A test model (MLflow models-from-code) whose input rows say what it does.

Columns `action` (string) and `seconds` (double): "ok" answers, "sleep" sleeps `seconds`, "raise"
raises, "exit" ends the process, "pid" answers the process id of the worker that scored it. It
answers the value of $SLOT for every other row. $CHAOS_SLEEP makes
every prediction sleep that long; $CHAOS_LOAD_SECONDS makes loading take that long.
"""

import os
import time

import mlflow.pyfunc
from mlflow.models import set_model


class ChaosModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        time.sleep(float(os.environ.get("CHAOS_LOAD_SECONDS", "0")))

    def predict(self, context, model_input, params=None):
        print(f"chaos model scoring {len(model_input)} row(s)", flush=True)
        time.sleep(float(os.environ.get("CHAOS_SLEEP", "0")))
        answers = []
        for action, seconds in zip(model_input["action"], model_input["seconds"], strict=True):
            if action == "sleep":
                time.sleep(float(seconds))
            elif action == "raise":
                raise ValueError("the chaos model raised on purpose")
            elif action == "exit":
                os._exit(13)
            answers.append(str(os.getpid()) if action == "pid" else os.environ.get("SLOT", "unnamed"))
        return answers


set_model(ChaosModel())
