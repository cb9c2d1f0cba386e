"""A heart classifier that misbehaves on purpose, for release tests (an MLflow model from code).

`model_config["mode"]`: `broken` raises on every request, `flaky` on every third request of an
instance, `slow` answers after `delay_s` seconds, `off-label` answers a label the wrapped model has
not (its answer plus 7: outside the output contract), `contrary` the other label of the wrapped
model's two (within the contract, disagreeing on every row). Otherwise it predicts with the wrapped
model.
"""

import time

import mlflow
from mlflow.pyfunc import PythonModel


class FaultyModel(PythonModel):
    def load_context(self, context):
        self.inner = mlflow.pyfunc.load_model(context.artifacts["inner"])
        self.mode = context.model_config.get("mode", "ok")
        self.delay_s = float(context.model_config.get("delay_s", 0.3))
        self.calls = 0

    def predict(self, context, model_input, params=None):
        self.calls += 1
        if self.mode == "broken" or (self.mode == "flaky" and self.calls % 3 == 0):
            raise RuntimeError(f"{self.mode} model failed on call {self.calls}")
        if self.mode == "slow":
            time.sleep(self.delay_s)
        if self.mode == "off-label":
            return self.inner.predict(model_input) + 7
        if self.mode == "contrary":
            return 1 - self.inner.predict(model_input)
        return self.inner.predict(model_input)


mlflow.models.set_model(FaultyModel())
