"""The demo classifier in a private registry: what was logged, its schema, drift, and serving it."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rollout import registry
from rollout.demo_model import data, training
from rollout.project import schema
from rollout.project.sample_rules import request_problems
from rollout.project.validation import validate_project

REPO = Path(__file__).resolve().parents[3]
SCHEMA_FILE = "samples/sample.schema.json"

# Every test here shares one trained registry: keep them on one xdist worker.


def committed_schema() -> dict:
    return json.loads((REPO / SCHEMA_FILE).read_text(encoding="utf-8"))


def sample() -> dict:
    return json.loads((REPO / "samples/sample.json").read_text(encoding="utf-8"))


def probe_frame() -> pd.DataFrame:
    body = json.loads((REPO / "samples/probe.json").read_text(encoding="utf-8"))["input_data"]
    return pd.DataFrame(body["data"], columns=body["columns"])


def test_two_versions_registered_with_accuracy(demo_registry) -> None:
    assert {variant: model.version for variant, model in demo_registry.models.items()} == {1: 1, 2: 2}
    for model in demo_registry.models.values():
        assert model.trained.holdout_rows == 76
        assert model.trained.holdout_accuracy >= 0.8
    client = registry.client(demo_registry.uri)
    assert registry.latest_version(client, "heart-classifier") == 2
    run = client.get_run(client.get_model_version("heart-classifier", "2").run_id)
    assert run.data.params["variant"] == "2"
    assert run.data.metrics["holdout_accuracy"] == demo_registry.models[2].trained.holdout_accuracy


def test_artifacts_under_the_artifacts_dir_and_nothing_in_the_working_directory(demo_registry) -> None:
    version = registry.get_version(demo_registry.uri, "heart-classifier", 1)
    assert version.source.startswith(demo_registry.artifacts_dir.as_uri() + "/")
    assert list(demo_registry.training_cwd.iterdir()) == []


def test_logged_model_has_signature_example_and_skops_format(demo_registry) -> None:
    version = registry.get_version(demo_registry.uri, "heart-classifier", 2)
    mlmodel = registry.load_mlmodel(demo_registry.uri, version)
    inputs = {spec.name: spec.type.name for spec in mlmodel.signature.inputs.inputs}
    assert list(inputs) == list(data.COLUMNS)
    assert inputs == {column: "long" for column in data.COLUMNS} | {"oldpeak": "double", "thal": "string"}
    assert [spec.type.name for spec in mlmodel.signature.outputs.inputs] == ["long"]
    assert mlmodel.metadata == {"categories": {"thal": ["fixed", "normal", "reversible"]}}
    assert mlmodel.flavors["sklearn"]["serialization_format"] == "skops"
    assert mlmodel.saved_input_example_info["type"] == "dataframe"
    model_dir = Path(version.source.removeprefix("file://"))
    requirements = (model_dir / "requirements.txt").read_text(encoding="utf-8").split()
    assert f"xgboost-cpu=={metadata.version('xgboost-cpu')}" in requirements  # as installed


def test_registered_model_loads_and_serves_the_sample(demo_registry) -> None:
    import mlflow.pyfunc

    version = registry.get_version(demo_registry.uri, "heart-classifier", 2)
    served = mlflow.pyfunc.load_model(version.source)
    frame = probe_frame()
    predictions = served.predict(frame)
    expected = demo_registry.models[2].trained.pipeline.predict(frame)
    assert list(predictions) == list(expected)
    rows = sample()["input_data"]
    assert list(served.predict(pd.DataFrame(rows["data"], columns=rows["columns"]))) in ([0], [1])


def test_variants_differ_but_mostly_agree_on_the_probe(demo_registry) -> None:
    frame = probe_frame()
    first = demo_registry.models[1].trained.pipeline.predict_proba(frame)[:, 1]
    second = demo_registry.models[2].trained.pipeline.predict_proba(frame)[:, 1]
    assert (abs(first - second) > 1e-6).any()
    agreement = ((first >= 0.5) == (second >= 0.5)).mean()
    assert agreement >= 0.9


def test_training_is_deterministic_for_a_seed(demo_registry) -> None:
    again = training.train(variant=2, seed=0)
    frame = probe_frame()
    reference = demo_registry.models[2].trained.pipeline.predict_proba(frame)
    assert (again.pipeline.predict_proba(frame) == reference).all()
    other_seed = training.train(variant=2, seed=1)
    assert not (other_seed.pipeline.predict_proba(frame) == reference).all()


def test_schema_of_the_registered_model_is_the_committed_one(demo_registry) -> None:
    for version in ("1", "2", "latest"):
        derived = schema.model_schema(
            schema.load_model_metadata(f"models:/heart-classifier/{version}", demo_registry.uri)
        )
        assert derived == committed_schema()


def test_schema_of_a_model_directory(demo_registry) -> None:
    source = registry.get_version(demo_registry.uri, "heart-classifier", 1).source
    assert (
        schema.model_schema(schema.load_model_metadata(source.removeprefix("file://"), "unused"))
        == committed_schema()
    )


def test_schema_accepts_the_sample_and_rejects_broken_requests() -> None:
    derived = committed_schema()
    assert request_problems(sample(), derived, "s.json") == []

    missing = sample()
    missing["input_data"]["columns"].remove("chol")
    del missing["input_data"]["data"][0][4]
    assert [str(p) for p in request_problems(missing, derived, "s.json")] == [
        "s.json: input_data.columns: must be age, sex, cp, trestbps, chol, fbs, restecg, thalach, exang, "
        "oldpeak, "
        "slope, ca, thal, in this order: lacks 'chol'",
        "s.json: input_data.data[0]: [48, 0, 3, 130, 0, 0, 139, 0, 0.2, 1, 0, 'normal'] is too short",
        "s.json: input_data.data[0][8]: 0.2 is not of type 'integer'",
        "s.json: input_data.data[0][11]: 'normal' is not of type 'integer'",
    ]

    wrong_type = sample()
    wrong_type["input_data"]["data"][0][9] = "0.2"
    assert [str(p) for p in request_problems(wrong_type, derived, "s.json")] == [
        "s.json: input_data.data[0][9]: '0.2' is not of type 'number'"
    ]

    unknown_thal = sample()
    unknown_thal["input_data"]["data"][0][12] = "unknown"
    assert [str(p) for p in request_problems(unknown_thal, derived, "s.json")] == [
        "s.json: input_data.data[0][12]: 'unknown' is not one of ['fixed', 'normal', 'reversible']"
    ]


def test_unknown_model_version_is_a_user_error(demo_registry) -> None:
    from rollout.core.errors import UserError

    with pytest.raises(
        UserError, match=r"^model heart-classifier version 9 is not in the registry at sqlite:"
    ):
        schema.load_model_metadata("models:/heart-classifier/9", demo_registry.uri)


def test_no_drift_between_the_shipped_schema_and_the_pinned_model(demo_registry) -> None:
    result = validate_project(REPO, registry_uri=demo_registry.uri)
    assert (result.problems, result.notes) == ([], [])


def test_drift_names_the_columns_and_types_that_differ(demo_registry, project: Path) -> None:
    drifted = committed_schema()
    columns = drifted["properties"]["input_data"]["properties"]["columns"]["const"]
    cells = drifted["properties"]["input_data"]["properties"]["data"]["items"]["prefixItems"]
    columns[columns.index("ca")] = "vessels"
    cells[9]["type"] = "integer"  # oldpeak
    cells[12]["enum"] = ["fixed", "normal"]  # thal
    (project / SCHEMA_FILE).write_text(json.dumps(drifted), encoding="utf-8")
    result = validate_project(project, check_samples=False, registry_uri=demo_registry.uri)
    model = "model heart-classifier version 2"
    assert [str(problem) for problem in result.problems] == [
        f"{SCHEMA_FILE}: input_data.columns: lacks column 'ca', which {model} takes",
        f"{SCHEMA_FILE}: input_data.columns: has column 'vessels', which {model} does not take",
        f"{SCHEMA_FILE}: columns.oldpeak: type integer differs from {model}'s number",
        f"{SCHEMA_FILE}: columns.thal: values ['fixed', 'normal'] differ from {model}'s ['fixed', "
        "'normal', 'reversible']",
    ]


def test_column_order_drift(demo_registry, project: Path) -> None:
    drifted = committed_schema()
    input_data = drifted["properties"]["input_data"]["properties"]
    input_data["columns"]["const"][0:2] = ["sex", "age"]
    cells = input_data["data"]["items"]["prefixItems"]
    cells[0:2] = [cells[1], cells[0]]
    (project / SCHEMA_FILE).write_text(json.dumps(drifted), encoding="utf-8")
    result = validate_project(project, check_samples=False, registry_uri=demo_registry.uri)
    assert [str(problem) for problem in result.problems] == [
        f"{SCHEMA_FILE}: input_data.columns: order differs from model heart-classifier version 2's: "
        + ", ".join(data.COLUMNS)
    ]


def test_pin_not_in_the_registry_is_a_note_not_a_problem(demo_registry, project: Path) -> None:
    plan = project / "deployments/release.yml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("version: 2", "version: 5"), encoding="utf-8")
    result = validate_project(project, registry_uri=demo_registry.uri)
    assert result.problems == []
    assert result.notes == [
        f"model heart-classifier version 5 is not in the registry at {demo_registry.uri}; schema drift not "
        "checked"
    ]


def test_register_a_model_directory_as_a_new_version(demo_registry, tmp_path: Path) -> None:
    source = Path(
        registry.get_version(demo_registry.uri, "heart-classifier", 1).source.removeprefix("file://")
    )
    copy = shutil.copytree(source, tmp_path / "model")
    client = registry.client(demo_registry.uri)
    version = registry.register_model(client, "heart-copy", copy, artifacts_dir=demo_registry.artifacts_dir)
    again = registry.register_model(client, "heart-copy", copy, artifacts_dir=demo_registry.artifacts_dir)
    assert (version, again) == (1, 2)
    stored = registry.get_version(demo_registry.uri, "heart-copy", 2).source
    assert stored.startswith(demo_registry.artifacts_dir.as_uri())
    assert yaml.safe_load((Path(stored.removeprefix("file://")) / "MLmodel").read_text())["metadata"] == {
        "categories": {"thal": ["fixed", "normal", "reversible"]}
    }
