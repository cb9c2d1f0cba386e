"""Models whose loading runs code they ship: the rule on real MLflow models, and the CLI's one-line
warning when such a model is registered or about to be deployed."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pytest
from mlflow.models import Model
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from rollout import registry
from rollout.cli import app
from rollout.cli.common import warn_about_registered_model_code
from rollout.project.model_code import code_on_load, trust_warning


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real MLflow model directories: scikit-learn as skops, pickle and cloudpickle; a Python model."""
    root = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(40, 3)), np.array([0, 1] * 20)
    classifier = LogisticRegression().fit(features, labels)
    paths = {name: root / name for name in ("skops", "pickle", "cloudpickle", "python_model")}
    for fmt in ("skops", "pickle", "cloudpickle"):
        mlflow.sklearn.save_model(classifier, paths[fmt], serialization_format=fmt, pip_requirements=[])
    mlflow.pyfunc.save_model(paths["python_model"], python_model=Doubler(), pip_requirements=[])
    return paths


def flavors(path: Path) -> dict:
    return Model.load(str(path / "MLmodel")).flavors


def test_a_skops_model_runs_no_code_on_load(models):
    assert code_on_load(flavors(models["skops"])) == []
    assert trust_warning("m:1", flavors(models["skops"])) is None


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("pickle", "sklearn: a pickle file"),
        ("cloudpickle", "sklearn: a cloudpickle file"),
        ("python_model", "python_function: a cloudpickled Python model"),
    ],
)
def test_pickled_models_run_code_on_load(models, model, reason):
    assert reason in code_on_load(flavors(models[model]))


@pytest.mark.parametrize(
    ("flavor", "reason"),
    [
        ({"loader_module": "mlflow.pyfunc.loaders.code_model"}, "a model written as Python code"),
        ({"loader_module": "acme.loader"}, "the loader module acme.loader"),
        ({"loader_module": "mlflow.sklearn", "code": "code"}, "the code folder code"),
    ],
)
def test_models_that_import_code_run_it_on_load(flavor, reason):
    assert code_on_load({"python_function": flavor}) == [f"python_function: {reason}"]


def test_the_warning_is_one_line_naming_the_model_and_why(models):
    line = trust_warning("heart:3", flavors(models["pickle"]))

    assert line is not None and "\n" not in line
    assert line.startswith("warning: loading heart:3 runs code it ships (sklearn: a pickle file")
    assert line.endswith("register and deploy only models you trust")


def test_registering_warns_once_on_stderr_for_a_pickle_and_not_for_skops(models, rollout_home):
    runner = CliRunner()

    pickled = runner.invoke(app, ["model", "register", "--name", "m", "--path", str(models["pickle"])])
    skops = runner.invoke(app, ["model", "register", "--name", "m", "--path", str(models["skops"])])

    assert (pickled.exit_code, pickled.stdout, skops.exit_code, skops.stdout) == (
        0,
        "m version 1\n",
        0,
        "m version 2\n",
    )
    warnings = [line for line in pickled.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [trust_warning("m", flavors(models["pickle"]))]
    assert "warning:" not in skops.stderr


def test_a_deploy_warns_from_the_registered_versions_mlmodel(models, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = registry.client(uri)
    version = registry.register_model(
        client, "m", models["cloudpickle"], artifacts_dir=tmp_path / "artifacts"
    )

    warn_about_registered_model_code(uri, "m", version)
    warn_about_registered_model_code(uri, "m", version + 1)  # not registered: the deploy names it

    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [trust_warning(f"m:{version}", flavors(models["cloudpickle"]))]
