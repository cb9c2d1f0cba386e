"""Azure's inference server (`azmlinfsrv`) run in a built environment, over loopback: the demo model
served no-code by the project's MLflow scoring script, a code deployment's `score.py`, and starts
that fail. One environment (the demo model's, from the run's shared cache) serves every test here."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest

from model_cache import ModelCache
from rollout.emulator.environments import BuiltEnvironment, EnvironmentCache, for_mlflow_model
from rollout.emulator.host.process import free_port
from rollout.emulator.instances.inference_server import (
    RunningServer,
    ScoringScript,
    ServerLaunch,
    ServerStartFailed,
    start,
)

REPO = Path(__file__).resolve().parents[3]
SAMPLE = json.loads((REPO / "samples" / "sample.json").read_text())
SCALED_MODEL_CODE = REPO / "tests" / "support" / "models" / "scaled_model.py"
READY_TIMEOUT_S = 90.0
SCRIPT_FAILED = {"message": "An unexpected error occurred in scoring script. Check the logs for more info."}

Starter = Callable[[ScoringScript], RunningServer]


@pytest.fixture(scope="module")
def cache() -> EnvironmentCache:
    """The run's shared environment cache (`$ROLLOUT_ENVIRONMENTS_DIR`, tests/conftest.py)."""
    return EnvironmentCache()


@pytest.fixture(scope="module")
def demo_model(model_cache: ModelCache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo model as Azure lays a registered model out: `$AZUREML_MODEL_DIR` is
    `azureml-models/NAME/VERSION`, the model folder inside it."""
    model_dir = tmp_path_factory.mktemp("models") / "azureml-models" / "heart-classifier" / "1"
    shutil.copytree(model_cache.demo(1), model_dir / "model")
    return model_dir


@pytest.fixture(scope="module")
def environment(cache: EnvironmentCache, demo_model: Path) -> BuiltEnvironment:
    """The demo model's no-code environment (its pins, Azure's server, mlflow-skinny)."""
    return cache.build(for_mlflow_model(demo_model / "model"))


@pytest.fixture(scope="module")
def servers(environment: BuiltEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starter]:
    """Starts servers in the demo model's environment, each in a directory of its own; stops them all
    at the end."""
    started: list[RunningServer] = []

    def starter(scoring: ScoringScript) -> RunningServer:
        run_dir = tmp_path_factory.mktemp("server")
        server = start(ServerLaunch(environment, scoring, run_dir, free_port()))
        started.append(server)
        return server

    yield starter
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def demo_server(servers: Starter, demo_model: Path) -> RunningServer:
    server = servers(ScoringScript.mlflow_model(demo_model))
    seconds = server.wait_ready(READY_TIMEOUT_S)
    print(f"\nazmlinfsrv with the demo model: ready {seconds:.2f} s after start (the environment's first)")
    return server


def score(server: RunningServer, body: object, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **headers}
    return httpx.post(f"{server.url}/score", content=content, headers=headers, timeout=30)


def in_process(model_dir: Path, frame: pd.DataFrame) -> list[object]:
    import mlflow.pyfunc

    predictions: list[object] = mlflow.pyfunc.load_model(str(model_dir)).predict(frame).tolist()
    return predictions


def test_the_demo_model_answers_the_sample_as_it_predicts_in_process(demo_server, demo_model):
    assert httpx.get(f"{demo_server.url}/", timeout=5).status_code == 200  # liveness, once ready
    answer = score(demo_server, SAMPLE, **{"x-request-id": "rehearsal-1"})
    assert answer.status_code == 200, answer.text
    frame = pd.DataFrame(SAMPLE["input_data"]["data"], columns=SAMPLE["input_data"]["columns"])
    assert answer.json() == in_process(demo_model / "model", frame)
    assert answer.headers["x-ms-run-function-failed"] == "False"
    assert answer.headers["x-ms-server-version"].startswith("azmlinfsrv/")
    assert answer.headers["x-request-id"] == "rehearsal-1"
    assert float(answer.headers["x-ms-run-fn-exec-ms"]) > 0


def test_the_split_orientation_with_an_index_and_several_rows(demo_server, demo_model):
    example = json.loads((demo_model / "model" / "input_example.json").read_text())  # three rows
    rows = example["data"]
    body = {"input_data": {"columns": example["columns"], "index": [7, 8, 9], "data": rows}}
    answer = score(demo_server, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == in_process(demo_model / "model", pd.DataFrame(rows, columns=example["columns"]))
    assert httpx.get(f"{demo_server.url}/", timeout=5).text == "Healthy"
    swagger = httpx.get(f"{demo_server.url}/swagger.json", params={"version": "3"}, timeout=5)
    assert swagger.status_code == 200 and "input_data" in swagger.text  # from the script's input types


def test_records_are_not_azures_form_for_a_frame_the_script_fails(demo_server):
    """Azure's online endpoints take frames in split orientation only: its script reads `input_data`
    as split, and records fail in run()."""
    records = [dict(zip(SAMPLE["input_data"]["columns"], SAMPLE["input_data"]["data"][0], strict=True))]
    answer = score(demo_server, {"input_data": records})
    assert (answer.status_code, answer.json()) == (500, SCRIPT_FAILED)
    assert answer.headers["x-ms-run-function-failed"] == "True"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"not json", "application/json", 400, "POST body could not be decoded as JSON: Expecting value: "),
        (b"", "application/json", 400, "POST body is empty. Expecting a JSON dictionary."),
        (b"[1, 2]", "application/json", 400, "POST body should be a JSON dictionary."),
        (b'{"data": []}', "application/json", 400, "A value is not provided for the 'input_data' parameter."),
        (json.dumps(SAMPLE).encode(), "text/plain", 415, "Expects Content-Type to be application/json"),
    ],
)
def test_a_malformed_body_is_answered_by_the_server(demo_server, body, content_type, status, message):
    answer = score(demo_server, body, **{"Content-Type": content_type})
    assert answer.status_code == status
    assert answer.json()["message"].startswith(message)
    assert answer.headers["x-ms-run-function-failed"] == "False"


@pytest.mark.filterwarnings("ignore:.*An input example was not provided")  # the signature is the sample
def test_params_reach_predict_and_a_frame_answers_as_records(servers, demo_model, tmp_path):
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    frame = pd.DataFrame({"x": [1.0, 2.5]})
    signature = infer_signature(frame, pd.DataFrame({"score": [1.0, 2.5]}), params={"scale": 1.0})
    requirements = (demo_model / "model" / "requirements.txt").read_text().split()  # the same environment
    model_dir = tmp_path / "azureml-models" / "scaled" / "1"
    mlflow.pyfunc.save_model(
        model_dir / "model",
        python_model=str(SCALED_MODEL_CODE),
        signature=signature,
        pip_requirements=requirements,
    )
    server = servers(ScoringScript.mlflow_model(model_dir))
    server.wait_ready(READY_TIMEOUT_S)
    split = {"columns": ["x"], "data": [[1.0], [2.5]]}
    answer = score(server, {"input_data": split, "params": {"scale": 10.0}})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"score": 10.0}, {"score": 25.0}]
    assert score(server, {"input_data": split}).json() == [{"score": 1.0}, {"score": 2.5}]  # the default


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    """A code deployment's folder: `score.py` importing a module beside it, Azure's response class."""
    code = tmp_path / "onlinescoring"
    code.mkdir()
    (code / "scaling.py").write_text("def scaled(values, factor):\n    return [v * factor for v in values]\n")
    (code / "score.py").write_text(
        textwrap.dedent(
            """
            import json, os

            from azureml.contrib.services.aml_response import AMLResponse
            from scaling import scaled

            def init():
                global factor
                factor = float(os.environ["FACTOR"])

            def run(raw_data):
                data = json.loads(raw_data)["data"]
                if data == "teapot":
                    return AMLResponse({"message": "short and stout"}, 418, json_str=True)
                if data == "boom":
                    raise ValueError("the script failed on purpose")
                return {"scaled": scaled(data, factor), "cwd_files": sorted(os.listdir("."))}
            """
        )
    )
    return code


def test_a_code_deployment_is_served_from_its_folder(servers, code_dir):
    server = servers(ScoringScript.code(code_dir, "score.py", variables={"FACTOR": "3"}))
    seconds = server.wait_ready(READY_TIMEOUT_S)
    print(f"\nazmlinfsrv with a 10-line score.py: ready {seconds:.2f} s after start")
    answer = score(server, {"data": [1, 2]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "scaled": [3.0, 6.0],
        "cwd_files": ["azmlinfsrv.log", "runtime"],
    }  # nothing to import
    assert answer.headers["x-ms-run-function-failed"] == "False"

    teapot = score(server, {"data": "teapot"})
    assert (teapot.status_code, teapot.json()) == (418, {"message": "short and stout"})

    failed = score(server, {"data": "boom"})
    assert (failed.status_code, failed.json()) == (500, SCRIPT_FAILED)
    assert failed.headers["x-ms-run-function-failed"] == "True"
    assert "ValueError: the script failed on purpose" in server.log_tail()


@pytest.mark.parametrize(
    ("script", "cause"),
    [
        (
            "def init():\n    raise RuntimeError('no model here')\n\ndef run(data):\n    return data\n",
            "RuntimeError: no model here",
        ),
        (
            "import lightgbm\n\ndef init():\n    pass\n\ndef run(data):\n    return data\n",
            "No module named 'lightgbm'",
        ),
    ],
    ids=["init-raises", "missing-module"],
)
def test_a_script_that_cannot_start_fails_with_the_cause_and_leaves_nothing_running(
    servers, tmp_path, script, cause
):
    (tmp_path / "score.py").write_text(script)
    server = servers(ScoringScript.code(tmp_path, "score.py"))
    with pytest.raises(ServerStartFailed, match="exited with code 3") as failed:
        server.wait_ready(READY_TIMEOUT_S)
    assert cause in str(failed.value)
    assert not server.alive()
    script_path = str(tmp_path / "score.py")  # on the command line of the server and its workers
    assert not [p for p in psutil.process_iter(["cmdline"]) if script_path in (p.info["cmdline"] or [])]
