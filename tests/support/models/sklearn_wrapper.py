"""A scikit-learn model behind a pyfunc wrapper, for the `rollout init` tests (an MLflow model from
code).

`model_config["answer"]`: `predict` (labels or numbers) or `proba` (class probabilities, a 2-D
array). `model_config["breach"]` breaks the output contract on purpose: `shift` adds 10 to every
prediction (labels outside the set), `pairs` answers two numbers per row, `narrow` drops the last
class's probability (two probabilities where there are three).
"""

import mlflow
import numpy as np
from mlflow.pyfunc import PythonModel


class SklearnWrapper(PythonModel):
    def load_context(self, context):
        self.inner = mlflow.sklearn.load_model(context.artifacts["inner"])
        self.answer = context.model_config.get("answer", "predict")
        self.breach = context.model_config.get("breach")
        self.constant = context.model_config.get("constant")

    def predict(self, context, model_input, params=None):
        if self.answer == "proba":
            proba = self.inner.predict_proba(model_input)
            if self.breach == "narrow":
                proba = proba[:, :-1] / proba[:, :-1].sum(axis=1, keepdims=True)
            return proba
        predicted = self.inner.predict(model_input)
        if self.breach == "shift":
            return predicted + 10
        if self.breach == "constant":
            return np.full(len(predicted), float(self.constant))
        if self.breach == "pairs":
            return np.column_stack([predicted, predicted])
        return predicted


mlflow.models.set_model(SklearnWrapper())
