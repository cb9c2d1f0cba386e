"""A model (an MLflow model from code) that imports xgboost, which its requirements do not list:
it loads where xgboost happens to be installed, and nowhere else."""

import mlflow
import xgboost
from mlflow.pyfunc import PythonModel


class UndeclaredImport(PythonModel):
    def predict(self, context, model_input, params=None):
        return [xgboost.__version__] * len(model_input)


mlflow.models.set_model(UndeclaredImport())
