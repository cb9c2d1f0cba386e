"""A model (an MLflow model from code) that answers, for every row, the version of scikit-learn it
runs with: the one of its environment."""

import mlflow
import sklearn
from mlflow.pyfunc import PythonModel


class SklearnVersion(PythonModel):
    def predict(self, context, model_input, params=None):
        return [sklearn.__version__] * len(model_input)


mlflow.models.set_model(SklearnVersion())
