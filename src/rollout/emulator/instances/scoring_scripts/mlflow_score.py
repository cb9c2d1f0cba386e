"""The scoring script of a no-code MLflow deployment: what Azure's MLflow images run for a model
deployed without a script of its own.

Azure's MLflow inference images (azureml-assets, `assets/inference/environments/
mlflow-py312-inference/context`) set `AML_APP_ROOT=/var/mlflow_resources` and
`AZUREML_ENTRY_SCRIPT=mlflow_score_script.py`, and serve the model in
`$AZUREML_MODEL_DIR/$MLFLOW_MODEL_FOLDER` with that script on Azure's inference server. This
script follows it for the models rollout releases (columns, tensors, named tensors, params) and
leaves out what only language models use (the transformers, langchain and openai flavors) and
Azure's model data collector. The contract it keeps:

- `run(input_data, params=None)` is decorated with `inference-schema` types, so the server reads
  the body as a JSON object and passes its `input_data` and `params`; the server itself answers a
  body that is not JSON, not an object or has no `input_data` with 400 and a Content-Type other
  than JSON with 415, each `{"message": ...}`.
- The type of `input_data` comes from the model's input example, else from its signature: a
  frame in pandas split orientation (`{"columns": [...], "index": [...], "data": [[...], ...]}`,
  `index` optional; columns cast to the example's or signature's types), a tensor (a list, made a
  numpy array), named tensors (an object of lists, each made an array). Without either, a list is
  an array, a split object a frame and any other object named tensors.
- `params`, when given, goes to `predict(params=...)`.
- The answer is MLflow's JSON form of the prediction: a frame as records, a Series as records of
  its one column, an array as a list, anything else as it is.
- An input that does not convert, or a prediction that fails, raises: the server answers 500
  `{"message": "An unexpected error occurred in scoring script. Check the logs for more info."}`
  with `x-ms-run-function-failed: True`.

Where the model is: `$AZUREML_MODEL_DIR/$MLFLOW_MODEL_FOLDER` when both are set (as on Azure);
otherwise the one directory holding an `MLmodel` file, the shallowest, in `$AZUREML_MODEL_DIR`.

This file runs in the deployment's environment, never in rollout's: it imports only what that
environment holds (MLflow, pandas, numpy, Azure's server and its `inference-schema`).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from inference_schema.parameter_types.abstract_parameter_type import AbstractParameterType
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema
from mlflow.models import Model
from mlflow.pyfunc import load_model
from mlflow.pyfunc.scoring_server import _get_jsonable_obj

logger = logging.getLogger("azmlinfsrv.mlflow_score")

_SAMPLE_PARAMS = {"boolean": True, "string": "sample string", "integer": 42, "long": 42}


class AnyInput(AbstractParameterType):
    """An input without a sample: passed on as the JSON parser made it."""

    def __init__(self) -> None:
        super().__init__(None)

    def deserialize_input(self, input_data: Any) -> Any:
        return input_data

    def input_to_swagger(self) -> dict[str, Any]:
        return {"type": "object", "example": {}}


def model_folder(root: Path, folder: str | None = None) -> Path:
    """The MLflow model's directory under `root` (`$AZUREML_MODEL_DIR`): `folder` in it when named,
    else the shallowest directory holding an `MLmodel` file (there must be one)."""
    if folder:
        return root / folder
    holding = (Path(here) for here, _, files in os.walk(root, followlinks=True) if "MLmodel" in files)
    found = sorted(holding, key=lambda path: len(path.parts))
    if not found:
        raise FileNotFoundError(f"No MLflow model (a directory with an MLmodel file) in {root}")
    shallowest = [path for path in found if len(path.parts) == len(found[0].parts)]
    if len(shallowest) > 1:
        names = ", ".join(str(path) for path in shallowest)
        raise ValueError(f"More than one MLflow model in {root}: {names}; set MLFLOW_MODEL_FOLDER")
    return found[0]


def example_sample(described: Model, path: Path) -> Any:
    """The model's saved input example, as the frame or arrays the server will convert to."""
    info = described.saved_input_example_info
    if not info:
        return None
    try:
        loaded = json.loads((path / info["artifact_path"]).read_text())
        if info["type"] == "dataframe":
            orient = "split" if "columns" in loaded else "values"
            return pd.read_json(StringIO(json.dumps(loaded)), orient=orient, dtype=False)
        if info["type"] == "ndarray":
            inputs = loaded["inputs"]
            if isinstance(inputs, dict):
                return {name: np.asarray(value) for name, value in inputs.items()}
            return np.asarray(inputs)
    except Exception as error:
        logger.warning("Could not read the model's input example (%s); using its signature", error)
    return None


def _zeros(spec: Any) -> np.ndarray:
    shape = [max(size, 1) for size in spec.shape or ()]  # -1: any size, here one
    return np.zeros(shape, dtype=spec.type)


def schema_sample(schema: Any) -> Any:
    """A sample of an MLflow input or output `Schema`: zeros for tensors, an empty typed frame for
    columns; None without a schema or when pandas cannot type it."""
    if not schema:
        return None
    if schema.is_tensor_spec():
        if not schema.has_input_names():
            return _zeros(schema.inputs[0])
        return {spec.name: _zeros(spec) for spec in schema.inputs}
    try:
        names = schema.input_names()
        return pd.DataFrame(columns=names).astype(dict(zip(names, schema.pandas_types(), strict=True)))
    except Exception as error:
        logger.warning("Could not make a sample of the model's schema (%s)", error)
        return None


def params_sample(signature: Any) -> dict[str, Any] | None:
    """A sample of the signature's params (their defaults), None when it declares none."""
    schema = getattr(signature, "params", None)
    if not schema:
        return None
    return {
        spec.name: spec.default if spec.default is not None else _SAMPLE_PARAMS.get(spec.dtype.name, 0.15)
        for spec in schema.params
    }


def input_type(sample: Any) -> AbstractParameterType:
    if isinstance(sample, np.ndarray):
        return NumpyParameterType(sample, enforce_shape=False)
    if isinstance(sample, pd.DataFrame):
        return PandasParameterType(sample, enforce_shape=False, orient="split")
    if isinstance(sample, dict):
        arrays = {name: NumpyParameterType(value, enforce_shape=False) for name, value in sample.items()}
        return StandardPythonParameterType(arrays)
    return AnyInput()


def output_type(sample: Any) -> AbstractParameterType:
    if isinstance(sample, np.ndarray):
        return NumpyParameterType(sample, enforce_shape=False)
    if isinstance(sample, dict):
        arrays = {name: NumpyParameterType(value, enforce_shape=False) for name, value in sample.items()}
        return StandardPythonParameterType(arrays)
    if isinstance(sample, pd.DataFrame):
        return PandasParameterType(sample, enforce_shape=False, orient="records")
    return AnyInput()


def parsed(input_data: Any) -> Any:
    """An input that came without a sample type, made what `predict` takes."""
    if isinstance(input_data, str):
        input_data = json.loads(input_data)
    if isinstance(input_data, dict) and "input_data" in input_data:
        input_data = input_data["input_data"]
    if isinstance(input_data, list):
        return np.asarray(input_data)
    if isinstance(input_data, dict) and {"columns", "index", "data"} <= input_data.keys():
        return pd.read_json(StringIO(json.dumps(input_data)), orient="split", dtype=False)
    return {name: np.asarray(value) for name, value in input_data.items()}


def _converted(input_data: Any) -> bool:
    if isinstance(input_data, np.ndarray | pd.DataFrame):
        return True
    first = next(iter(input_data.values()), None) if isinstance(input_data, dict) else None
    return isinstance(first, np.ndarray)


MODEL_PATH = model_folder(Path(os.environ["AZUREML_MODEL_DIR"]), os.environ.get("MLFLOW_MODEL_FOLDER"))
DESCRIBED = Model.load(str(MODEL_PATH))
_signature = DESCRIBED.signature
_input_sample = example_sample(DESCRIBED, MODEL_PATH)
if _input_sample is None and _signature is not None:
    _input_sample = schema_sample(_signature.inputs)
_params = params_sample(_signature)
INPUT_TYPE = input_type(_input_sample)
OUTPUT_TYPE = output_type(schema_sample(_signature.outputs) if _signature is not None else None)
PARAMS_TYPE = StandardPythonParameterType(_params) if _params is not None else AnyInput()
model: Any = None


def init() -> None:
    """Load the model (once per server worker)."""
    global model
    logger.info("Loading the MLflow model in %s", MODEL_PATH)
    model = load_model(str(MODEL_PATH))


@input_schema("input_data", INPUT_TYPE)
@input_schema("params", PARAMS_TYPE, optional=True)
@output_schema(OUTPUT_TYPE)
def run(input_data: Any, params: dict[str, Any] | None = None) -> Any:
    """The model's prediction on `input_data`, in MLflow's JSON form."""
    model_input = input_data if _converted(input_data) else parsed(input_data)
    if inspect.signature(model.predict).parameters.get("params"):
        result = model.predict(model_input, params=params)
    else:
        result = model.predict(model_input)
    return _get_jsonable_obj(result, pandas_orient="records")
