"""Load an MLflow model and predict a request's rows, in the model's own environment.

`python -I predict_rows.py MODEL_DIR REQUEST_JSON ANSWER_JSON`: the request is
`{"input_data": {"columns": [...], "data": [[...], ...]}}` (pandas split orientation, as Azure's
no-code MLflow deployments take it); the answer file gets `{"predictions": [...]}` (MLflow's JSON
form: a frame as records, a Series as records of its column, an array as a list), or, when the
model does not load or predict, `{"failure": {"stage", "error", "message", "module"}}` (`module`:
the one a `ModuleNotFoundError` names). Exit status 0 either way; anything else is a crash.

This file runs in the environment built for the model (its packages, Azure's additions): it
imports the standard library, MLflow, pandas and numpy, never `rollout`, which is not there.
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
import warnings
from pathlib import Path
from typing import Any


def _jsonable(predictions: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, pd.Series):
        return pd.DataFrame(predictions).to_dict(orient="records")
    if isinstance(predictions, np.ndarray):
        return predictions.tolist()
    return predictions


def _default(value: Any) -> Any:
    """What `json` cannot write by itself: numpy scalars and arrays, times, bytes."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _failure(stage: str, error: BaseException) -> dict[str, Any]:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    module = getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None
    return {"stage": stage, "error": type(error).__name__, "message": message, "module": module}


def answer(model_dir: Path, request: dict[str, Any]) -> dict[str, Any]:
    """`{"predictions": ...}` or `{"failure": ...}` for the model in `model_dir` on `request`."""
    stage = "import"
    try:
        import mlflow.pyfunc
        import pandas as pd

        stage = "load"
        with warnings.catch_warnings():  # MLflow's hints about the model's code are not the user's concern
            warnings.simplefilter("ignore")
            model = mlflow.pyfunc.load_model(str(model_dir))
            stage = "predict"
            rows = request["input_data"]
            frame = pd.DataFrame(rows["data"], columns=rows["columns"])
            predictions = _jsonable(model.predict(frame))
    except Exception as error:
        return {"failure": _failure(stage, error)}
    return {"predictions": predictions}


def main(arguments: list[str]) -> int:
    model_dir, request_file, answer_file = (Path(argument) for argument in arguments)
    result = answer(model_dir, json.loads(request_file.read_text()))
    answer_file.write_text(json.dumps(result, default=_default))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
