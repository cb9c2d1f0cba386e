"""A model whose signature has params (an MLflow model from code): it answers a frame, `score`,
its input column `x` times the `scale` param."""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ScaledModel(PythonModel):
    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        return pd.DataFrame({"score": model_input["x"] * scale})


mlflow.models.set_model(ScaledModel())
