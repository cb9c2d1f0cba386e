"""`rollout init` reads the model in the environment its deployment gets, not in rollout's: a
LightGBM model (LightGBM is no dependency of rollout), one whose requirements omit LightGBM, and
one whose requirements cannot be resolved. (A registry, no emulator; the run's environment cache.)
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from init_lab import pinned
from labs import Lab
from rollout import registry
from rollout.emulator.environments import (
    BuildOptions,
    EnvironmentCache,
    EnvironmentKind,
    EnvironmentSpec,
    isolated_environ,
)

TRAINING_SCRIPT = Path(__file__).parent.parent / "support" / "models" / "train_lightgbm.py"
LIGHTGBM = "lightgbm==4.7.0"  # wheels for CPython 3.11 on the package index
# the model's requirements (MLflow puts its own pin first), and what Azure's MLflow image adds
REQUIREMENTS = [*pinned(("mlflow",)), LIGHTGBM, *pinned(("pandas", "numpy"))]
AZURE_ADDITIONS = ["azureml-inference-server-http==1.5.1", *pinned(("mlflow-skinny",))]


def _train(model_dir: Path, rows: Path) -> str:
    """A LightGBM booster trained on iris `rows` by the Python of an environment that has LightGBM:
    the environment a deployment of the saved model gets (its key)."""
    spec = EnvironmentSpec(EnvironmentKind.MLFLOW_MODEL, tuple(REQUIREMENTS + AZURE_ADDITIONS))
    built = EnvironmentCache().build(spec, BuildOptions())
    arguments = [str(rows), str(model_dir), json.dumps(REQUIREMENTS)]
    command = [str(built.python), "-I", str(TRAINING_SCRIPT), *arguments]
    subprocess.run(command, env=isolated_environ(), check=True)
    return built.key


def _with_requirements(model_dir: Path, copy: Path, replace: dict[str, str | None]) -> Path:
    """A copy of the model whose conda.yaml and requirements.txt have lines replaced (None: dropped)."""
    shutil.copytree(model_dir, copy)
    for name in ("conda.yaml", "requirements.txt"):
        lines = (copy / name).read_text().splitlines()
        kept = [_replaced(line, replace) for line in lines]
        (copy / name).write_text("\n".join(line for line in kept if line is not None) + "\n")
    return copy


def _replaced(line: str, replace: dict[str, str | None]) -> str | None:
    for old, new in replace.items():
        if line.strip().removeprefix("- ") == old:
            return None if new is None else line.replace(old, new)
    return line


@pytest.fixture(scope="module")
def lightgbm_lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lab, str, Path]:
    """A registry with `lightgbm-iris` (1), `lightgbm-unlisted` (1: its requirements omit LightGBM)
    and `lightgbm-unresolvable` (1: a LightGBM version that does not exist); the first's
    environment key, and a probe file."""
    from sklearn.datasets import load_iris

    home = tmp_path_factory.mktemp("init-environment")
    lab = Lab(home)
    iris = load_iris(as_frame=True).frame
    iris.to_csv(home / "iris.csv", index=False)
    probe = home / "probe.csv"
    iris.drop(columns="target").sample(60, random_state=0).to_csv(probe, index=False)
    key = _train(home / "lightgbm-iris", home / "iris.csv")
    copies = {
        "lightgbm-iris": home / "lightgbm-iris",
        "lightgbm-unlisted": _with_requirements(home / "lightgbm-iris", home / "unlisted", {LIGHTGBM: None}),
        "lightgbm-unresolvable": _with_requirements(
            home / "lightgbm-iris", home / "unresolvable", {LIGHTGBM: "lightgbm==0.0.1"}
        ),
    }
    client = registry.client(lab.registry_uri)
    for name, model_dir in copies.items():
        assert registry.register_model(client, name, model_dir, artifacts_dir=home / "artifacts") == 1
    return lab, key, probe


def test_a_lightgbm_model_is_read_in_its_own_environment(
    lightgbm_lab: tuple[Lab, str, Path], tmp_path: Path
) -> None:
    lab, key, probe = lightgbm_lab
    assert importlib.util.find_spec("lightgbm") is None  # rollout's Python cannot load the model
    project = tmp_path / "project"
    args = ["--model", "models:/lightgbm-iris/1", "--endpoint", "ep-lightgbm", "--path", str(project)]
    init = lab.in_process("init", *args, "--probe", str(probe))
    assert init.returncode == 0, init.stderr[-2000:]
    # the environment a deployment of the model gets, found in the cache the training built, named once
    assert f"environment {key}: cached" in init.stderr, init.stderr
    assert len(re.findall(rf"reading the model in its environment {key} \(Python 3\.11", init.stderr)) == 1
    # the model has no output signature: its kind and classes come from its answers alone
    plan = yaml.safe_load((project / "deployments" / "release.yml").read_text())
    assert plan["output"] == {"kind": "probabilities", "classes": 3}
    assert "output: a probability vector of 3; agreement: equal arg-max" in init.stdout, init.stdout
    sample = json.loads((project / "samples" / "sample.json").read_text())
    assert sample["input_data"]["data"] == pd.read_csv(probe).head(3).values.tolist()
    assert len(json.loads((project / "samples" / "probe.json").read_text())["input_data"]["data"]) == 60
    validated = lab.in_process("validate", "--path", str(project))
    assert validated.returncode == 0, validated.stdout + validated.stderr


def _refused(lab: Lab, tmp_path: Path, model: str, probe: Path) -> str:
    project = tmp_path / "project"
    args = ["--model", model, "--endpoint", "ep-lightgbm", "--path", str(project), "--probe", str(probe)]
    result = lab.in_process("init", *args)
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    assert not project.exists()
    return errors[0]


def test_a_package_missing_from_the_requirements_is_named(
    lightgbm_lab: tuple[Lab, str, Path], tmp_path: Path
) -> None:
    lab, key, probe = lightgbm_lab
    line = _refused(lab, tmp_path, "models:/lightgbm-unlisted/1", probe)
    assert "the model does not load in its environment " in line and key not in line
    assert "No module named 'lightgbm'" in line
    assert "add the package that provides lightgbm to the model's requirements" in line


def test_requirements_that_do_not_resolve_name_the_resolvers_message(
    lightgbm_lab: tuple[Lab, str, Path], tmp_path: Path
) -> None:
    lab, _, probe = lightgbm_lab
    line = _refused(lab, tmp_path, "models:/lightgbm-unresolvable/1", probe)
    assert line.startswith("error: the model's environment cannot be built: conda.yaml of "), line
    assert "lightgbm==0.0.1" in line and "unsatisfiable" in line, line
