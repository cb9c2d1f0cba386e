"""`rollout validate`, `rollout schema` and `rollout model` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rollout.cli import app

REPO = Path(__file__).resolve().parents[2]
ROLLOUT = Path(sys.executable).with_name("rollout")


def run_rollout(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    env["ROLLOUT_HOME"] = str(home)
    return subprocess.run(
        [str(ROLLOUT), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home.parent,
        timeout=120,
        check=False,
    )


def test_shipped_project_validates_with_the_console_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run_rollout("validate", "--path", str(REPO), home=home)
    assert (done.returncode, done.stderr) == (0, "")
    registry = f"sqlite:///{home / 'mlflow.db'}"
    assert done.stdout.splitlines() == [
        f"note: model heart-classifier version 2 is not in the registry at {registry};"
        " schema drift not checked",
        "ok: the specs and samples are valid",
    ]
    assert not home.exists()  # checking for drift created no registry


def test_broken_project_one_line_per_problem_and_no_traceback(project: Path, tmp_path: Path) -> None:
    blue = project / "deployments/blue.yml"
    blue.write_text(blue.read_text(encoding="utf-8").replace("name: blue", "name: b"), encoding="utf-8")
    sample = project / "samples/sample.json"
    sample.write_text(sample.read_text(encoding="utf-8").replace('"normal"', '"purple"'), encoding="utf-8")
    done = run_rollout("validate", "--path", str(project), home=tmp_path / "home")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "note: model heart-classifier version 2 is not in the registry at "
        f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}; schema drift not checked",
        "deployments/blue.yml: name: 'b' must be 3 to 32 characters long (it has 1)",
        "deployments/blue.yml: name: 'b' must equal its slot's name 'blue' in deployments/release.yml",
        "samples/sample.json: input_data.data[0][12]: 'purple' is not one of ['fixed', 'normal', "
        "'reversible']",
    ]
    assert done.stderr == "error: 3 problems in the specs\n"


@pytest.fixture
def cli(rollout_home: Path):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def test_train_register_and_schema(cli, rollout_home: Path) -> None:
    trained = cli("model", "train", "--variant", "2", "--seed", "3")
    assert trained.exit_code == 0, trained.output
    assert re.fullmatch(
        r"heart-classifier version 1: holdout accuracy 0\.\d{3} on 76 rows \(variant 2, seed 3\)\n",
        trained.stdout,
    )
    assert (rollout_home / "mlflow.db").is_file()

    from rollout import registry

    source = registry.get_version(f"sqlite:///{rollout_home / 'mlflow.db'}", "heart-classifier", 1).source
    registered = cli("model", "register", "--name", "heart-copy", "--path", source.removeprefix("file://"))
    assert (registered.exit_code, registered.stdout) == (0, "heart-copy version 1\n")

    printed = cli("schema", "--model", "models:/heart-copy/1")
    assert printed.exit_code == 0
    assert json.loads(printed.stdout) == json.loads(
        (REPO / "samples/sample.schema.json").read_text(encoding="utf-8")
    )


def test_user_errors_of_the_model_commands(cli, rollout_home: Path, tmp_path: Path) -> None:
    unknown_variant = cli("model", "train", "--variant", "3")
    assert (unknown_variant.exit_code, unknown_variant.stderr) == (
        1,
        "error: no model variant 3 (variants: 1, 2)\n",
    )

    not_a_model = cli("model", "register", "--name", "x", "--path", str(tmp_path))
    assert not_a_model.exit_code == 1
    assert (
        not_a_model.stderr == f"error: {tmp_path} is not an MLflow model directory (it has no MLmodel file)\n"
    )

    no_registry = cli("schema", "--model", "models:/heart-classifier/1")
    assert no_registry.exit_code == 1
    assert no_registry.stderr == (
        "error: model heart-classifier version 1 is not in the registry at "
        f"sqlite:///{rollout_home / 'mlflow.db'}\n"
    )
    assert not rollout_home.exists()

    not_a_path = cli("schema", "--model", str(tmp_path / "nothing"))
    assert not_a_path.exit_code == 1
    assert not_a_path.stderr == (
        f"error: {tmp_path / 'nothing'} is neither models:/<name>/<version> nor an MLflow model directory\n"
    )


def test_validate_a_missing_directory(cli, tmp_path: Path) -> None:
    done = cli("validate", "--path", str(tmp_path / "nowhere"))
    assert (done.exit_code, done.stdout) == (1, "")
    assert done.stderr == f"error: {tmp_path / 'nowhere'} is not a directory\n"


def test_probe_command_writes_the_committed_probe(cli, tmp_path: Path) -> None:
    written = cli("model", "probe", "--out", str(tmp_path / "probe.json"))
    assert written.exit_code == 0
    committed = (REPO / "samples/probe.json").read_text(encoding="utf-8")
    assert (tmp_path / "probe.json").read_text(encoding="utf-8") == committed
    assert cli("model", "probe").stdout == committed
