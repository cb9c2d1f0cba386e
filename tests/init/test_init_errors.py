"""`rollout init`'s refusals: each is one `error:` line, and nothing is written. (A registry with
the iris classifier, no emulator.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from init_lab import KINDS, register_kind, write_probe
from labs import Lab

KIND = KINDS["iris-labels"]
MODEL = f"models:/{KIND.name}/2"


@pytest.fixture(scope="module")
def registry_lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    home = tmp_path_factory.mktemp("init-errors")
    lab = Lab(home)
    register_kind(KIND, lab.registry_uri, home / "artifacts")
    return lab


def _refused(lab: Lab, *args: str) -> str:
    result = lab.in_process("init", *args)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _short_probe(tmp_path: Path) -> Path:
    rows = write_probe(KIND, tmp_path / "rows.csv").read_text().splitlines()
    (tmp_path / "short.csv").write_text("\n".join(rows[:11]) + "\n")
    return tmp_path / "short.csv"


def _probe_without_a_column(tmp_path: Path) -> Path:
    import pandas as pd

    frame = pd.read_csv(write_probe(KIND, tmp_path / "rows.csv"))
    frame.drop(columns=["petal width (cm)"]).to_csv(tmp_path / "narrow.csv", index=False)
    return tmp_path / "narrow.csv"


def _script(folder: Path) -> Path:
    (folder / "scoring").mkdir(exist_ok=True)
    (folder / "scoring" / "score.py").write_text("def init():\n    pass\n\n\ndef run(raw):\n    return []\n")
    return folder / "scoring" / "score.py"


def _conda(folder: Path) -> Path:
    pip = "".join(f"      - {name}\n" for name in ("scikit-learn", "azureml-inference-server-http"))
    (folder / "conda.yaml").write_text(
        f"name: scoring\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n{pip}"
    )
    return folder / "conda.yaml"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", MODEL, "--endpoint", "1-bad"], "--endpoint: '1-bad' must start with a letter"),
        (["--model", "iris-labels", "--endpoint", "ep-iris"], "expected models:/<name>/<version>"),
        (
            ["--model", "models:/iris-labels/9", "--endpoint", "ep-iris"],
            "model iris-labels version 9 is not in",
        ),
        (
            ["--model", MODEL, "--endpoint", "ep-iris", "--probe", "SHORT"],
            "10 complete rows; agreement needs at least 50",
        ),
        (
            ["--model", MODEL, "--endpoint", "ep-iris", "--probe", "NARROW"],
            "lacks the model's column(s) 'petal width (cm)'",
        ),
        (
            ["--model", MODEL, "--endpoint", "ep-iris", "--probe", "rows.txt"],
            "expected a .csv or .parquet file",
        ),
        (
            ["--model", MODEL, "--endpoint", "ep-iris", "--scoring-script", "SCRIPT"],
            "--scoring-script needs --conda-file: Azure runs a scoring script in the environment",
        ),
        (
            [
                "--model",
                MODEL,
                "--endpoint",
                "ep-iris",
                "--scoring-script",
                "SCRIPT",
                "--conda-file",
                "CONDA",
            ],
            "score.py is not inside the project",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    registry_lab: Lab, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "rows.txt").write_text("a,b\n")
    files = {"SHORT": _short_probe, "NARROW": _probe_without_a_column, "SCRIPT": _script, "CONDA": _conda}
    args = [
        str(files[arg](tmp_path)) if arg in files else str(tmp_path / arg) if arg == "rows.txt" else arg
        for arg in args
    ]
    project = tmp_path / "project"
    assert message in _refused(registry_lab, *args, "--path", str(project))
    assert not project.exists()


def test_existing_files_are_kept_unless_forced(registry_lab: Lab, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "deployments").mkdir(parents=True)
    (project / "deployments" / "blue.yml").write_text("mine\n")
    args = ["--model", MODEL, "--endpoint", "ep-iris", "--path", str(project), "--probe"]
    args.append(str(write_probe(KIND, tmp_path / "rows.csv")))
    line = _refused(registry_lab, *args)
    assert "1 file(s) exist already" in line and "deployments/blue.yml" in line and "--force" in line
    assert sorted(p.name for p in project.rglob("*") if p.is_file()) == ["blue.yml"]
    assert (project / "deployments" / "blue.yml").read_text() == "mine\n"

    # forced, with a scoring script and its environment in the script's folder: the slots run the script
    script, conda = _script(project), _conda(project / "scoring")
    coded = ["--scoring-script", str(script), "--conda-file", str(conda)]
    forced = registry_lab.in_process("init", *args, *coded, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "wrote deployments/blue.yml" in forced.stdout
    assert (project / "deployments" / "blue.yml").read_text().startswith("$schema:")
    spec = yaml.safe_load((project / "deployments" / "green.yml").read_text())
    assert spec["code_configuration"] == {"code": "../scoring", "scoring_script": "score.py"}
    assert spec["environment"]["conda_file"] == "../scoring/conda.yaml"
    assert "note: the slots run scoring/score.py; the probe answers and the output contract" in forced.stderr
    assert "output: a class label in [0, 1, 2]; agreement: equal labels" in forced.stdout
