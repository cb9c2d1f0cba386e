"""The `rollout://local` tracking and registry stores: the local registry, registering local models
as an Azure workspace does, and following `$ROLLOUT_HOME`. No emulator is needed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import mlflow

MLMODEL = """\
flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.7
mlflow_version: 3.17.2
"""


def _model_dir(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "MLmodel").write_text(MLMODEL)
    return root


def test_a_local_model_is_copied_into_the_registry_and_its_model_created(rollout_local, tmp_path):
    client = mlflow.MlflowClient()
    model = _model_dir(tmp_path / "model")

    first = client.create_model_version(name="heart-classifier", source=f"file://{model}")
    second = client.create_model_version(name="heart-classifier", source=str(model))  # a plain path too

    assert (str(first.version), str(second.version)) == ("1", "2")
    home = Path(rollout_local).parent / "rollout-home"
    for version in (first, second):
        copied = Path(urlparse(version.source).path)
        assert copied.is_relative_to(home / "artifacts")
        assert (copied / "MLmodel").read_text() == MLMODEL
    assert [m.name for m in client.search_registered_models()] == ["heart-classifier"]
    assert (home / "mlflow.db").is_file()


def test_runs_are_tracked_in_the_local_registry(rollout_local):
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy", 0.9)
    found = mlflow.MlflowClient().get_run(run.info.run_id)
    assert found.data.metrics == {"accuracy": 0.9}


def test_rollout_local_follows_rollout_home(rollout_local, tmp_path, monkeypatch):
    client = mlflow.MlflowClient()
    client.create_model_version(name="first-home", source=f"file://{_model_dir(tmp_path / 'model')}")

    monkeypatch.setenv("ROLLOUT_HOME", str(tmp_path / "other-home"))
    assert mlflow.MlflowClient().search_registered_models() == []
    assert (tmp_path / "other-home" / "mlflow.db").is_file()


def test_the_emulator_is_given_the_sqlite_registry_not_the_plugin_uri(rollout_local):
    from rollout.core import paths

    home = Path(rollout_local).parent / "rollout-home"
    assert paths.registry_uri() == f"sqlite:///{home / 'mlflow.db'}"  # MLFLOW_TRACKING_URI=rollout://local
