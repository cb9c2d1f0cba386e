"""The lines `rollout init` ends with when a model's environment cannot read it, and the script that
predicts in that environment, run here on its own (it imports no rollout: any Python with MLflow
runs it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rollout.azureml import model_environment
from rollout.azureml.environment_scripts import predict_rows


def test_uvs_message_on_a_pipe_becomes_one_line() -> None:
    message = (
        "conda.yaml of the model: error: No solution found when resolving dependencies\n"
        "  cause: Because there is no version of lightgbm==0.0.1 and you require lightgbm==0.0.1, we "
        "can conclude that your requirements are unsatisfiable.\n"
    )
    assert model_environment._one_line(message) == (
        "conda.yaml of the model: No solution found when resolving dependencies: Because there is no "
        "version of lightgbm==0.0.1 and you require lightgbm==0.0.1, we can conclude that your "
        "requirements are unsatisfiable."
    )
    built = "x: error: Failed to build `foo==1`\n  Caused by: The build backend returned an error\n"
    assert (
        model_environment._one_line(built)
        == "x: Failed to build `foo==1`: The build backend returned an error"
    )


def test_a_missing_module_is_named_with_what_to_do() -> None:
    failure = {"stage": "load", "error": "ModuleNotFoundError", "message": "No module named 'catboost.core'"}
    line = model_environment._failure_line({**failure, "module": "catboost.core"}, "abc")
    assert line.startswith(
        "the model does not load in its environment abc: ModuleNotFoundError: "
        "No module named 'catboost.core'; add the package that provides catboost to the model's requirements"
    )
    failure = {"stage": "predict", "error": "ValueError", "message": "bad shape", "module": None}
    assert model_environment._failure_line(failure, "abc") == (
        "the model fails to predict the rows in its environment abc: ValueError: bad shape"
    )


def test_the_script_answers_in_mlflows_json_form(model_cache) -> None:
    model_dir = model_cache.demo(1)
    example = pd.read_json(model_dir / "input_example.json", orient="split")
    request = {"input_data": {"columns": list(example.columns), "data": example.values.tolist()}}
    answered = predict_rows.answer(model_dir, request)
    assert set(answered) == {"predictions"} and len(answered["predictions"]) == len(example)
    assert all(prediction in (0, 1) for prediction in answered["predictions"])

    frame = pd.DataFrame({"a": [1.5], "b": ["x"]})
    assert predict_rows._jsonable(frame) == [{"a": 1.5, "b": "x"}]
    assert predict_rows._jsonable(pd.Series([1, 2], name="p")) == [{"p": 1}, {"p": 2}]
    assert predict_rows._jsonable(np.array([[0.25, 0.75]])) == [[0.25, 0.75]]
    assert predict_rows._default(np.int64(3)) == 3 and predict_rows._default(b"\x00") == "AA=="


def test_the_script_reports_a_model_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    request = {"input_data": {"columns": ["a"], "data": [[1]]}}
    failure = predict_rows.answer(tmp_path / "model", request)["failure"]
    assert failure["stage"] == "load" and failure["module"] is None and failure["message"]
