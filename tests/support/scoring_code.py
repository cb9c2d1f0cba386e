"""A code deployment as Azure's samples write one: a `score.py` that loads a pickled scikit-learn model
from `$AZUREML_MODEL_DIR` in `init()` and predicts in `run()`, and a conda file for it. Every test
uses the same pip list (pinned to rollout's own versions, so that the pickle loads), so that the
run builds that environment once."""

from __future__ import annotations

import pickle
import sys
import textwrap
import uuid
from importlib.metadata import version
from pathlib import Path

INFERENCE_SERVER = "azureml-inference-server-http"
PACKAGES = [f"{name}=={version(name)}" for name in ("scikit-learn", "pandas", "numpy")]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
REQUEST = {"data": [[-4.0], [5.0]]}
ANSWER = [0, 1]

SCORE = """\
# {marker}
import glob
import json
import os
import pickle

import numpy as np


def init():
    global model
    {init_line}
    pattern = os.path.join(os.environ["AZUREML_MODEL_DIR"], "**", "model.pkl")
    with open(glob.glob(pattern, recursive=True)[0], "rb") as file:
        model = pickle.load(file)


def run(raw_data):
    {run_line}
    rows = np.array(json.loads(raw_data)["data"])
    return model.predict(rows).tolist()
"""


def conda_file(*, with_server: bool = True) -> str:
    """The conda file: Python, pip and the pip list (Azure's server in it unless `with_server` is off)."""
    pip = [*PACKAGES, INFERENCE_SERVER] if with_server else PACKAGES
    listed = "".join(f"      - {line}\n" for line in pip)
    head = f"name: scoring\nchannels: [conda-forge]\ndependencies:\n  - python={PYTHON}\n  - pip\n"
    return f"{head}  - pip:\n{listed}"


def write_code(folder: Path, *, fails_in: str | None = None) -> Path:
    """`folder` holding `score.py` (unique content: the emulator is shared) and a module beside it;
    `fails_in` "init" or "run" makes that function raise."""
    folder.mkdir(parents=True, exist_ok=True)
    raises = {name: f"raise RuntimeError('{name}() failed on purpose')" for name in ("init", "run")}
    script = SCORE.format(
        marker=uuid.uuid4(),
        init_line=raises["init"] if fails_in == "init" else "pass",
        run_line=raises["run"] if fails_in == "run" else "pass",
    )
    (folder / "score.py").write_text(script)
    (folder / "helpers").mkdir(exist_ok=True)
    (folder / "helpers" / "features.py").write_bytes(b"SCALE = 2\r\n\x00binary-safe\n")
    return folder


def pickled_model(folder: Path) -> Path:
    """`folder` holding `model.pkl` (a logistic regression: negative -> 0, positive -> 1) and an
    MLmodel naming it, as a registered model's files."""
    from sklearn.linear_model import LogisticRegression

    folder.mkdir(parents=True, exist_ok=True)
    model = LogisticRegression().fit([[-3.0], [-1.0], [1.0], [3.0]], [0, 0, 1, 1])
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    (folder / "MLmodel").write_text(
        textwrap.dedent(
            """\
            flavors:
              python_function:
                loader_module: mlflow.sklearn
                model_path: model.pkl
            """
        )
    )
    return folder


HEART_SCORE = """\
import json
import os
import pickle

import pandas as pd


def init():
    global model
    assert os.listdir(os.environ["AZUREML_MODEL_DIR"]), "the deployment's model is mounted"
    with open(os.path.join(os.environ["AML_APP_ROOT"], "model.pkl"), "rb") as file:
        model = pickle.load(file)


def run(raw_data):
    {run_line}
    body = json.loads(raw_data)["input_data"]
    frame = pd.DataFrame(body["data"], columns=body["columns"])
    return model.predict(frame[["age", "chol"]]).tolist()
"""


TYPED_RUN = """\
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


SAMPLE = {"columns": ["age", "chol"], "data": [[48.0, 275.0]]}


@input_schema("input_data", StandardPythonParameterType(SAMPLE))
@output_schema(StandardPythonParameterType([0]))
def run(input_data):
    frame = pd.DataFrame(input_data["data"], columns=input_data["columns"])
    return model.predict(frame[["age", "chol"]]).tolist()
"""


def write_heart_code(folder: Path, *, fails_in_run: bool = False, typed: bool = False) -> Path:
    """`folder` holding a `score.py` for the article's requests (`input_data` split) and the pickled
    classifier it loads in `init()` (trained on the patients' age and cholesterol); `fails_in_run`
    makes `run()` raise; `typed` declares `run()`'s input (two numeric columns) and output with
    inference-schema's decorators, which Azure's server turns into the deployment's swagger."""
    from sklearn.linear_model import LogisticRegression

    folder.mkdir(parents=True, exist_ok=True)
    model = LogisticRegression().fit([[40, 180], [45, 200], [60, 300], [65, 320]], [0, 0, 1, 1])
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    run_line = "raise RuntimeError('run() failed on purpose')" if fails_in_run else "pass"
    script = HEART_SCORE.format(run_line=run_line)
    if typed:
        script = script[: script.index("def run(")] + TYPED_RUN
    (folder / "score.py").write_text(script)
    return folder
