"""Loading the release plan and the project: typed values, resolved paths, errors as UserError."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

from rollout.core.errors import UserError
from rollout.project.loading import load_project, load_release_plan
from rollout.project.specs import AnalysisLimits, parse_duration

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("2m30s", 150.0),
        ("1.5m", 90.0),
        ("90", 90.0),
        (90, 90.0),
        (0, 0.0),
        ("0s", 0.0),
        (" 10s ", 10.0),
    ],
)
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "5min", "m", "", "-5s", -1, "30s5m", "1m1m", True, None, "1d"])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_shipped_release_plan() -> None:
    plan = load_release_plan(REPO / "deployments/release.yml")
    assert (plan.model.name, plan.model.version) == ("heart-classifier", 2)
    assert plan.model_reference == "azureml:heart-classifier:2"
    assert plan.endpoint == REPO / "endpoints/heart-classifier.yml"
    assert plan.slots == {"blue": REPO / "deployments/blue.yml", "green": REPO / "deployments/green.yml"}
    assert [(s.name, s.mirror, s.traffic, s.bake_seconds, s.environment) for s in plan.stages] == [
        ("shadow", 50, None, 300.0, "shadow"),
        ("canary", None, 10, 300.0, "canary"),
        ("half", None, 50, 600.0, "production-half"),
        ("full", None, 100, 300.0, "production"),
    ]
    assert plan.analysis == AnalysisLimits(
        min_requests=100,
        max_error_rate=0.01,
        confidence=0.95,
        max_p95_latency_ms=500,
        max_latency_ratio=1.5,
        min_agreement=0.9,
    )
    assert plan.stage("half").traffic == 50


def test_unknown_stage_names_the_known_ones() -> None:
    plan = load_release_plan(REPO / "deployments/release.yml")
    with pytest.raises(
        UserError,
        match=r"^no stage 'quarter' in the release plan \(its stages: shadow, canary, half, full\)$",
    ):
        plan.stage("quarter")


def test_plan_without_analysis_gets_the_default_limits(tmp_path: Path) -> None:
    text = (REPO / "deployments/release.yml").read_text(encoding="utf-8")
    (tmp_path / "release.yml").write_text(text.split("\nanalysis:")[0] + "\n", encoding="utf-8")
    assert load_release_plan(tmp_path / "release.yml").analysis == AnalysisLimits()


def test_version_may_be_quoted(tmp_path: Path) -> None:
    text = (
        (REPO / "deployments/release.yml").read_text(encoding="utf-8").replace("version: 2", "version: '7'")
    )
    (tmp_path / "release.yml").write_text(text, encoding="utf-8")
    assert load_release_plan(tmp_path / "release.yml").model.version == 7


def test_broken_plan_is_one_user_error_listing_every_problem(tmp_path: Path) -> None:
    text = (REPO / "deployments/release.yml").read_text(encoding="utf-8")
    text = text.replace("version: 2", "version: -1").replace("traffic: 100", "traffic: 40")
    (tmp_path / "release.yml").write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as raised:
        load_release_plan(tmp_path / "release.yml")
    assert raised.value.message == (
        f"{tmp_path / 'release.yml'}: 3 problems in the specs (see rollout validate): "
        "release.yml: model.version: must be a positive integer (got -1); "
        "release.yml: stages[3].traffic: must be greater than the previous stage's 50 (got 40); "
        "release.yml: stages[3].traffic: the last stage must send 100 percent to the candidate (got 40)"
    )


def test_shipped_project_loads() -> None:
    project = load_project(REPO)
    assert project.root == REPO
    assert project.plan.model.version == 2
    assert isinstance(project.endpoint, ManagedOnlineEndpoint)
    assert project.endpoint.name == "heart-classifier"
    assert project.endpoint.auth_mode == "key"
    assert sorted(project.deployments) == ["blue", "green"]
    for slot, deployment in project.deployments.items():
        assert isinstance(deployment, ManagedOnlineDeployment)
        assert deployment.name == slot
        assert deployment.endpoint_name == "heart-classifier"
        assert deployment.instance_count == 1


def test_broken_project_raises_user_error(tmp_path: Path) -> None:
    for directory in ("endpoints", "deployments"):
        for path in (REPO / directory).iterdir():
            (tmp_path / directory).mkdir(exist_ok=True)
            (tmp_path / directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    green = tmp_path / "deployments/green.yml"
    green.write_text(
        green.read_text(encoding="utf-8").replace("endpoint_name: heart-classifier", "endpoint_name: x")
    )
    with pytest.raises(
        UserError, match=r"1 problem in the specs .*deployments/green.yml: endpoint_name: 'x' does not"
    ):
        load_project(tmp_path)


def test_project_loading_ignores_samples(tmp_path: Path) -> None:
    """A broken sample must not block a release or a rollback (rollout validate reports it)."""
    for directory in ("endpoints", "deployments"):
        for path in (REPO / directory).iterdir():
            (tmp_path / directory).mkdir(exist_ok=True)
            (tmp_path / directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples/sample.json").write_text("{", encoding="utf-8")
    assert load_project(tmp_path).plan.model.name == "heart-classifier"
