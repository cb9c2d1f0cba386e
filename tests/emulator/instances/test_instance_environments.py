"""Each deployment's instances run Azure's inference server in the environment built from its own
model's dependencies, through the real MLClient and the endpoint over HTTPS: a model pinned to a
scikit-learn other than rollout's answers with its own, a model that imports what its requirements
omit fails, a build that fails leaves the live deployment serving, and replies carry the server's
own headers."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sklearn
from azure.ai.ml.entities import ManagedOnlineDeployment, ProbeSettings
from azure.core.exceptions import HttpResponseError

from chaos_support import CHAOS_MODEL, chaos_body, https_client, register_chaos_model
from model_cache import ModelCache

MODELS = Path(__file__).resolve().parents[2] / "support" / "models"
PINNED_SKLEARN = "1.5.2"  # on the package index with wheels for this Python; rollout has another
FRAME = {"input_data": {"columns": ["x"], "data": [[1.0], [2.0]]}}


def _save(code: str, requirements: list[str]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        import mlflow.pyfunc
        import pandas as pd
        from mlflow.models import infer_signature

        signature = infer_signature(pd.DataFrame({"x": [1.0]}), ["answer"])
        mlflow.pyfunc.save_model(
            path, python_model=str(MODELS / code), signature=signature, pip_requirements=requirements
        )

    return build


@pytest.fixture(scope="module")
def register(model_cache: ModelCache, emulator_registry) -> Callable[[str, str, list[str]], str]:
    """Save a model from code with these requirements (once per run) and register it; its
    `azureml:NAME:VERSION`."""

    def registered(name: str, code: str, requirements: list[str]) -> str:
        key = f"{name}-{uuid.uuid5(uuid.NAMESPACE_OID, repr(requirements)).hex[:8]}"
        model_dir = model_cache.get(key, _save(code, requirements))
        version = model_cache.register(
            emulator_registry.uri, emulator_registry.artifacts_dir, name, model_dir
        )
        return f"azureml:{name}:{version}"

    return registered


def _deployment(endpoint: str, name: str, model: str, **overrides) -> ManagedOnlineDeployment:
    probe = ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=60)
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=model,
        instance_type="Standard_DS3_v2",
        instance_count=1,
        readiness_probe=probe,
        liveness_probe=probe,
        **overrides,
    )


def _score(emulator, ml_client, endpoint: str, deployment: str, body: dict, **headers: str):
    key = ml_client.online_endpoints.get_keys(endpoint).primary_key
    with https_client(emulator.ca_file) as client:
        return client.post(
            emulator.scoring_uri(endpoint),
            json=body,
            headers={"Authorization": f"Bearer {key}", "azureml-model-deployment": deployment, **headers},
        )


def test_a_model_pinned_to_another_scikit_learn_answers_with_it_through_the_endpoint(
    ml_client, emulator, endpoint, register
):
    assert sklearn.__version__ != PINNED_SKLEARN  # rollout's own is another
    model = register(
        "sklearn-pinned", "sklearn_version.py", ["mlflow==3.17.2", f"scikit-learn=={PINNED_SKLEARN}"]
    )
    ml_client.online_deployments.begin_create_or_update(_deployment(endpoint, "pinned", model)).result()

    reply = _score(emulator, ml_client, endpoint, "pinned", FRAME, **{"x-request-id": "pinned-1"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == [PINNED_SKLEARN, PINNED_SKLEARN]
    assert reply.headers["x-ms-run-function-failed"] == "False"  # azmlinfsrv's headers, through the endpoint
    assert reply.headers["x-ms-server-version"].startswith("azmlinfsrv/")
    assert reply.headers["x-request-id"] == "pinned-1"
    assert float(reply.headers["x-ms-run-fn-exec-ms"]) > 0
    assert reply.headers["azureml-model-deployment"] == "pinned"
    logs = ml_client.online_deployments.get_logs("pinned", endpoint, lines=200)
    assert f"scikit-learn=={PINNED_SKLEARN}" in logs  # the resolved set, as the instance started


def test_a_model_importing_a_package_its_requirements_omit_fails_the_deployment(
    ml_client, endpoint, register
):
    assert importlib.util.find_spec("xgboost") is not None  # rollout has it; the model's environment not
    model = register("undeclared-import", "undeclared_import.py", ["mlflow"])
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "undeclared", model)
        ).result()
    assert raised.value.error.code == "ResourceNotReady"
    assert "No module named 'xgboost'" in raised.value.error.message
    assert ml_client.online_deployments.get("undeclared", endpoint).provisioning_state == "Failed"
    logs = ml_client.online_deployments.get_logs("undeclared", endpoint, lines=200)
    assert "ModuleNotFoundError: No module named 'xgboost'" in logs


def test_a_build_that_fails_leaves_the_live_deployment_serving(
    ml_client, emulator, emulator_registry, endpoint, register
):
    chaos = register_chaos_model(emulator_registry.uri, emulator_registry.artifacts_dir)
    live = _deployment(
        endpoint, "blue", f"azureml:{CHAOS_MODEL}:{chaos}", environment_variables={"SLOT": "live"}
    )
    ml_client.online_deployments.begin_create_or_update(live).result()
    assert _score(emulator, ml_client, endpoint, "blue", chaos_body()).json() == ["live"]

    unresolvable = register("unresolvable", "sklearn_version.py", ["mlflow", "scikit-learn==0.0.1"])
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(endpoint, "blue", unresolvable, environment_variables={"SLOT": "new"})
        ).result()
    assert raised.value.error.code == "ResourceNotReady"
    assert "scikit-learn==0.0.1" in raised.value.error.message
    assert ml_client.online_deployments.get("blue", endpoint).provisioning_state == "Failed"
    logs = ml_client.online_deployments.get_logs("blue", endpoint, lines=200)
    assert "no version of scikit-learn==0.0.1" in logs  # the resolver's own words
    assert _score(emulator, ml_client, endpoint, "blue", chaos_body()).json() == ["live"]  # untouched
