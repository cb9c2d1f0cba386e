"""`rollout workflow render [--check]`: the workflows follow the release plan, and drift is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rollout.github import workflow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's plan, specs, workflows and roles to change freely."""
    root = tmp_path / "project"
    for folder in ("deployments", "endpoints", ".github/workflows", ".github/roles"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def edit_plan(root: Path, change) -> None:
    path = root / "deployments" / "release.yml"
    plan = yaml.safe_load(path.read_text())
    change(plan)
    path.write_text(yaml.safe_dump(plan, sort_keys=False))


def test_the_committed_workflows_match_the_plan(workflow_cli):
    result = workflow_cli("render", "--check", "--path", str(REPO))

    assert result.exit_code == 0, result.output
    assert (
        "workflows match deployments/release.yml: shadow (mirror 50%, shadow) -> canary (10%, canary) -> "
        "half (50%, production-half)"
    ) in result.stdout


def test_render_is_idempotent(workflow_cli, project):
    result = workflow_cli("render", "--path", str(project))

    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert "wrote" not in result.stdout


def test_stages_out_of_order_are_named_then_fixed_by_render(workflow_cli, project):
    def swap_first_two_names(plan):  # of the traffic stages
        first, second = plan["stages"][1], plan["stages"][2]
        first["name"], second["name"] = second["name"], first["name"]
        first["environment"], second["environment"] = second["environment"], first["environment"]

    edit_plan(project, swap_first_two_names)

    check = workflow_cli("render", "--check", "--path", str(project))

    assert check.exit_code == 1
    assert check.stderr.splitlines()[-1].startswith(
        "error: the workflows are out of step with deployments/release.yml: .github/workflows/release.yml: "
        "stages run in the order shadow -> canary -> half -> full;"
        " the plan says shadow -> half -> canary -> full"
    )
    assert "job 'stage-half' (stage 'half') does not need 'stage-shadow'" in check.stderr

    render = workflow_cli("render", "--path", str(project))
    assert render.exit_code == 0, render.output
    assert "wrote .github/workflows/release.yml" in render.stdout
    assert workflow_cli("render", "--check", "--path", str(project)).exit_code == 0
    jobs = yaml.safe_load((project / ".github/workflows/release.yml").read_text())["jobs"]
    assert jobs["stage-shadow"]["needs"] == "acceptance"
    assert jobs["stage-half"]["needs"] == "stage-shadow"
    assert jobs["stage-canary"]["needs"] == "stage-half"
    assert jobs["stage-full"]["needs"] == "stage-canary"


def test_a_new_stage_gets_a_job_in_its_environment(workflow_cli, project):
    def add_stage(plan):
        plan["stages"].insert(2, {"name": "quarter", "traffic": 25, "bake": "90m", "environment": "staging"})

    edit_plan(project, add_stage)

    check = workflow_cli("render", "--check", "--path", str(project))
    assert check.exit_code == 1
    assert "stage 'quarter' of the plan has no job" in check.stderr

    assert workflow_cli("render", "--path", str(project)).exit_code == 0
    jobs = yaml.safe_load((project / ".github/workflows/release.yml").read_text())["jobs"]
    quarter = jobs["stage-quarter"]
    assert quarter["environment"] == {"name": "staging"}
    assert quarter["needs"] == "stage-canary"
    assert quarter["timeout-minutes"] == 90 + workflow.STAGE_TIMEOUT_MARGIN_MINUTES
    assert jobs["stage-half"]["needs"] == "stage-quarter"
    assert "stage-quarter" in jobs["rollback"]["needs"]


def test_retire_after_puts_the_retire_job_in_an_environment_whose_wait_timer_holds_it(workflow_cli, project):
    edit_plan(project, lambda plan: plan.update(retire_after="1h"))

    assert workflow_cli("render", "--check", "--path", str(project)).exit_code == 1
    assert workflow_cli("render", "--path", str(project)).exit_code == 0
    text = (project / ".github/workflows/release.yml").read_text()
    retire = yaml.safe_load(text)["jobs"]["retire"]
    assert retire["environment"] == {"name": workflow.RETIRE_ENVIRONMENT}
    assert "its wait timer (60 min, the plan's retire_after)" in text
    assert not any("sleep" in step.get("run", "") for step in retire["steps"])

    # environments as code: the retire environment's wait timer must hold the job that long
    environments = project / ".github" / "environments.yml"
    shutil.copy(REPO / ".github" / "environments.yml", environments)
    missing = workflow_cli("render", "--check", "--path", str(project))
    assert missing.exit_code == 1
    assert "has no `retire` environment, which the plan's retire_after (60 min) needs" in missing.stderr
    config = yaml.safe_load(environments.read_text())
    retire_environment = {"identity": {"client_id": "6f1c0e2a-0000-4000-8000-0000000000ff"}, "wait_timer": 30}
    config["environments"]["retire"] = retire_environment
    environments.write_text(yaml.safe_dump(config))
    short = workflow_cli("render", "--check", "--path", str(project))
    assert "`retire` waits 30 min, less than the plan's retire_after (60 min): set its wait_timer to 60" in (
        short.stderr
    )
    retire_environment["wait_timer"] = 60
    environments.write_text(yaml.safe_dump(config))
    assert workflow_cli("render", "--check", "--path", str(project)).exit_code == 0


def test_a_changed_environment_and_endpoint_are_named(workflow_cli, project):
    edit_plan(project, lambda plan: plan["stages"][3].update(environment="prod"))
    spec = project / "endpoints" / "heart-classifier.yml"
    spec.write_text(spec.read_text().replace("name: heart-classifier", "name: heart-v2"))

    check = workflow_cli("render", "--check", "--path", str(project))

    assert check.exit_code == 1
    assert "stage 'full' runs in environment 'production'; the plan says 'prod'" in check.stderr
    assert ".github/workflows/rollback.yml differs from the rendered text" in check.stderr
    assert "+  group: rollout-rollback-heart-v2" in check.stderr  # the unified diff follows


def test_a_hand_edited_workflow_is_caught(workflow_cli, project):
    path = project / ".github/workflows/release.yml"
    path.write_text(path.read_text().replace("      name: canary\n", "      name: staging\n"))

    check = workflow_cli("render", "--check", "--path", str(project))

    assert check.exit_code == 1
    assert "stage 'canary' runs in environment 'staging'; the plan says 'canary'" in check.stderr


def test_a_missing_workflow_is_named(workflow_cli, project):
    (project / ".github/workflows/rollback.yml").unlink()

    check = workflow_cli("render", "--check", "--path", str(project))

    assert check.exit_code == 1
    assert ".github/workflows/rollback.yml is missing" in check.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda plan: plan["stages"][0].update(name="can ary"),
            "stages[0].name: 'can ary' is not a valid stage",
        ),
        (lambda plan: plan["stages"][2].update(name="canary"), "'canary' is also the name of stages[1]"),
    ],
)
def test_a_plan_the_specs_refuse_is_one_line_and_writes_nothing(workflow_cli, project, change, message):
    before = (project / ".github/workflows/release.yml").read_text()
    edit_plan(project, change)

    result = workflow_cli("render", "--path", str(project))

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert (project / ".github/workflows/release.yml").read_text() == before


def test_a_missing_plan_is_one_line(workflow_cli, tmp_path):
    result = workflow_cli("render", "--check", "--path", str(tmp_path))

    assert result.exit_code == 1
    assert result.stderr == f"error: release plan not found: {tmp_path / 'deployments/release.yml'}\n"


def test_an_endpoint_name_azure_would_refuse_is_one_line(workflow_cli, project):
    spec = project / "endpoints" / "heart-classifier.yml"
    spec.write_text(spec.read_text().replace("name: heart-classifier", "name: heart_classifier"))

    result = workflow_cli("render", "--path", str(project))

    assert result.exit_code == 1
    assert "has name 'heart_classifier'; expected 3 to 32 letters, digits and dashes" in result.stderr
