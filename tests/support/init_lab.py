"""The `rollout init` journeys: models built from data that ships with scikit-learn (nothing
downloaded), registered in a lab's registry, and `rollout` run on them as a user runs it.

Each model kind is registered as version 1 and 2 (two good models that mostly agree) and version
3 (a candidate that breaks the output contract):

- `diabetes`: a random-forest regression answering numbers, version 2 a retrain with more and
  deeper trees; version 3 answers two numbers per row, and version 4 (a broken model within the
  contract) answers the training data's mean for every row;
- `iris-labels`: a multi-class classifier answering labels 0, 1, 2; version 3 answers 10, 11, 12;
- `iris-proba`: the classifier answering class probabilities; version 3 answers two of three.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from labs import Lab
from release_lab import FAST_PLAN, PROBE_RPS

WRAPPER_CODE = Path(__file__).parent / "models" / "sklearn_wrapper.py"
PROBE_ROWS = 60
# what the wrapped models need where they are read (`rollout init` builds their environment from
# this list): pinned to rollout's own versions, as MLflow pins what it infers
PACKAGES = ("mlflow", "scikit-learn", "skops", "pandas", "numpy")
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]  # a forest's trees, which skops loads only when trusted


def pinned(packages: tuple[str, ...]) -> list[str]:
    """`package==version` of each, as installed here."""
    from importlib.metadata import version

    return [f"{package}=={version(package)}" for package in packages]


@dataclass(frozen=True)
class Kind:
    name: str  # the registered model's name
    answer: str  # predict or proba
    breach: str  # how version 3 breaks the contract
    broken: str | None = None  # how version 4, if any, breaks the model within the contract


KINDS = {
    "diabetes": Kind("diabetes", "predict", "pairs", broken="constant"),
    "iris-labels": Kind("iris-labels", "predict", "shift"),
    "iris-proba": Kind("iris-proba", "proba", "narrow"),
}


def _data(kind: Kind):
    from sklearn.datasets import load_diabetes, load_iris

    loader = load_diabetes if kind.name == "diabetes" else load_iris
    frame = loader(as_frame=True).frame
    target = frame.pop("target")
    return frame, target


def _estimator(kind: Kind, version: int):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LogisticRegression

    if kind.name == "diabetes":  # the calibration study's "more and deeper trees"
        if version == 1:
            return RandomForestRegressor(n_estimators=20, max_depth=8, random_state=0)
        return RandomForestRegressor(n_estimators=60, random_state=0)
    return LogisticRegression(C=1.0 if version == 1 else 0.8, max_iter=1000)


def register_kind(kind: Kind, registry_uri: str, artifacts: Path) -> None:
    """Versions 1 and 2 (good), 3 (breaks the contract) and 4 (broken within it), of one kind."""
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from rollout import registry

    client = registry.client(registry_uri)
    features, target = _data(kind)
    versions = [(1, None), (2, None), (3, kind.breach)] + ([(4, kind.broken)] if kind.broken else [])
    for version, breach in versions:
        estimator = _estimator(kind, min(version, 2)).fit(features, target)
        answer = estimator.predict_proba(features) if kind.answer == "proba" else estimator.predict(features)
        signature = infer_signature(features, answer)
        with tempfile.TemporaryDirectory(prefix="init-lab-") as scratch:
            inner = Path(scratch) / "inner"
            mlflow.sklearn.save_model(
                estimator, inner, pip_requirements=["scikit-learn"], skops_trusted_types=TRUSTED_TYPES
            )
            path = Path(scratch) / "model"
            mlflow.pyfunc.save_model(
                path,
                python_model=str(WRAPPER_CODE),
                artifacts={"inner": str(inner)},
                model_config={"answer": kind.answer, "breach": breach, "constant": float(target.mean())},
                signature=signature,
                input_example=features.head(5),
                pip_requirements=pinned(PACKAGES),
            )
            registered = registry.register_model(client, kind.name, path, artifacts_dir=artifacts)
        assert registered == version


def answers_to_the_probe(kind: Kind, version: int) -> list[float]:
    """What version 1 or 2 answers to the probe rows `write_probe` writes."""
    features, target = _data(kind)
    rows = features.sample(PROBE_ROWS, random_state=0)
    return [float(v) for v in _estimator(kind, version).fit(features, target).predict(rows)]


def write_probe(kind: Kind, path: Path) -> Path:
    features, _ = _data(kind)
    features.sample(PROBE_ROWS, random_state=0).to_csv(path, index=False)
    return path


def shorten(project: Path) -> list[str]:
    """What a test changes in a scaffolded project: the release lab's analysis (limits that tell
    healthy from faulty on any machine) and only the plan's last stage (a release through every
    stage is tests/release's). The plan's stages, by name."""
    plan_file = project / "deployments" / "release.yml"
    plan = yaml.safe_load(plan_file.read_text())
    plan["analysis"] = {**plan["analysis"], **FAST_PLAN["analysis"]}
    plan["stages"] = plan["stages"][-1:]
    plan_file.write_text(yaml.safe_dump(plan, sort_keys=False))
    return [stage["name"] for stage in plan["stages"]]


WRITTEN = {
    "endpoints/{endpoint}.yml",
    "deployments/blue.yml",
    "deployments/green.yml",
    "deployments/release.yml",
    "samples/sample.json",
    "samples/sample.schema.json",
    "samples/probe.json",
    ".github/workflows/release.yml",
    ".github/workflows/rollback.yml",
    ".github/workflows/pull-request.yml",
    ".github/environments.yml",
    "release-requirements.txt",
    # the role of each kind of job, as code (their actions are tested in tests/unit/github)
    ".github/roles/rollout-gate.json",
    ".github/roles/rollout-acceptance.json",
    ".github/roles/rollout-deploy.json",
    ".github/roles/rollout-traffic.json",
    ".github/roles/rollout-lock.json",
    ".github/roles/rollout-pull-request.json",  # the pull-request check's, read-only
}


def release_journey(
    lab: Lab,
    kind: Kind,
    workdir: Path,
    *,
    probe: bool,
    output: dict,
    breach: str,
    release_v2: bool = False,
    plan_note: str = "",
    described: str = "",
    broken_says: str = "",
) -> None:
    """`rollout init` into an empty directory, `rollout validate`, version 1 live, then (if
    `release_v2`) a release of version 2 through the scaffolded plan's last stage with a short
    bake, and version 3, which breaks the output contract, stopped by the acceptance suite before
    it takes traffic, as is version 4 (broken within the contract) when the kind has one, its failure
    saying `broken_says`. `plan_note`: a line the written plan holds; `described`: what init's output
    line says of the contract."""
    from rollout.azureml.endpoints import set_traffic
    from rollout.project.loading import load_project
    from rollout.release.steps import Release

    endpoint, project = f"ep-{kind.name}", workdir / "project"
    try:
        args = ["init", "--model", f"models:/{kind.name}/2", "--endpoint", endpoint, "--path", str(project)]
        if probe:
            args += ["--probe", str(write_probe(kind, workdir / "probe.csv"))]
        init = lab.in_process(*args)
        assert init.returncode == 0, init.stderr[-2000:]
        written = {
            line.removeprefix("wrote ") for line in init.stdout.splitlines() if line.startswith("wrote ")
        }
        assert written == {path.format(endpoint=endpoint) for path in WRITTEN}
        # the environments file and the next steps name the command that applies it
        assert "rollout github configure --repo OWNER/REPO" in init.stdout
        assert "rollout github configure" in (project / ".github/environments.yml").read_text()
        assert ("agreement needs real rows" in init.stderr) != probe, init.stderr
        # the scaffolded workflows install what the project names: the rollout that scaffolded it
        requirements = (project / "release-requirements.txt").read_text().splitlines()
        assert next(line for line in requirements if line and not line.startswith("#")).startswith(
            "rollout-azureml"
        )
        assert "pip" in requirements
        assert (
            "pip install --require-hashes --no-deps -r release-requirements.lock"
            in (project / ".github/workflows/release.yml").read_text()
        )
        plan = yaml.safe_load((project / "deployments" / "release.yml").read_text())
        assert plan["model"] == {"name": kind.name, "version": 2}
        assert plan["output"] == output
        assert plan_note in (project / "deployments" / "release.yml").read_text()
        assert described in init.stdout, init.stdout

        validated = lab.in_process("validate", "--path", str(project))
        assert validated.returncode == 0, validated.stdout + validated.stderr
        assert "ok: the specs and samples are valid" in validated.stdout
        assert "note:" not in validated.stdout  # the drift check ran: the pinned version is in the registry

        stages = shorten(project)
        live = Release(lab.connection(), load_project(project))
        live.deploy(version=1)
        set_traffic(live.conn.ml, endpoint, {"blue": 100})
        live.retire()
        live_slot, idle_slot = "blue", "green"

        if release_v2:
            args = ("release", "--yes", "--bake", "2s", "--probe-rps", str(PROBE_RPS))
            released = lab.in_process(*args, cwd=project)
            assert released.returncode == 0, released.stdout[-3000:] + released.stderr[-2000:]
            assert "acceptance suite against green" in released.stderr
            for stage in stages:
                assert f"stage {stage}: pass" in released.stdout, released.stdout
            assert f"released {kind.name}:2: green is live, blue retired" in released.stdout
            live_slot, idle_slot = idle_slot, live_slot

        broken = lab.in_process("release", "--yes", "--version", "3", "--bake", "2s", cwd=project)
        assert broken.returncode != 0, broken.stdout[-3000:]
        refused = f"the acceptance suite failed against {idle_slot}: "
        assert refused in broken.stderr and "; no traffic was moved" in broken.stderr, broken.stderr[-2000:]
        assert breach in broken.stdout, broken.stdout[-4000:]
        assert live.status().traffic == {live_slot: 100}

        if kind.broken:
            wrong = lab.in_process("release", "--yes", "--version", "4", "--bake", "2s", cwd=project)
            assert wrong.returncode != 0, wrong.stdout[-3000:]
            assert refused in wrong.stderr, wrong.stderr[-2000:]
            assert "test_candidate_agrees_with_live" in wrong.stdout and broken_says in wrong.stdout, (
                wrong.stdout[-4000:]
            )
            assert live.status().traffic == {live_slot: 100}
    finally:
        lab.remove_endpoint(endpoint)  # its instances stop with it
