"""`rollout workflow pin-changed`: a push releases only when it changes the model pin."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from github_output_format import parse_github_output

PLAN = """\
# Release plan
model:
  name: heart-classifier
  version: {version}
endpoint: ../endpoints/heart-classifier.yml
stages:
  - name: canary
    traffic: {traffic}
    bake: 5m
    environment: canary
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(root: Path, text: str, message: str) -> str:
    plan = root / "deployments" / "release.yml"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A repository whose plan goes: v1; v1 with new comments and stages; v2 (read-only)."""
    root = tmp_path_factory.mktemp("history") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    (root / "README").write_text("models\n")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "start")
    commits = {"empty": git(root, "rev-parse", "HEAD")}
    commits["v1"] = commit(root, PLAN.format(version=1, traffic=10), "pin v1")
    edited = "# stages widened\n" + PLAN.format(version=1, traffic=20) + "# trailing note\n"
    commits["v1-edited"] = commit(root, edited, "tweak stages")
    commits["v2"] = commit(root, PLAN.format(version=2, traffic=20), "pin v2")
    return root, commits


def decide(workflow_cli, root: Path, tmp_path: Path, *args: str) -> tuple[int, str, dict[str, str]]:
    output = tmp_path / "github_output"
    output.write_text("")
    result = workflow_cli("pin-changed", "--path", str(root), *args, env={"GITHUB_OUTPUT": str(output)})
    values = parse_github_output(output.read_text())
    return result.exit_code, result.output, values


def test_a_version_bump_releases(workflow_cli, history, tmp_path):
    root, commits = history

    code, out, values = decide(
        workflow_cli, root, tmp_path, "--base", commits["v1-edited"], "--head", commits["v2"]
    )

    assert code == 0
    assert out == "release: The model pin changed from heart-classifier:1 to heart-classifier:2.\n"
    assert values == {
        "changed": "true",
        "reason": "The model pin changed from heart-classifier:1 to heart-classifier:2.",
        "before": "heart-classifier:1",
        "after": "heart-classifier:2",
        "skipped": "",  # without what the endpoint serves, nothing to compare the pins with
    }


def test_a_push_of_several_commits_compares_with_the_commit_before_the_push(workflow_cli, history, tmp_path):
    root, commits = history

    _, _, values = decide(workflow_cli, root, tmp_path, "--base", commits["v1"], "--head", commits["v2"])

    assert values["changed"] == "true"


def test_editing_comments_and_stages_does_not_release(workflow_cli, history, tmp_path):
    root, commits = history

    code, out, values = decide(
        workflow_cli, root, tmp_path, "--base", commits["v1"], "--head", commits["v1-edited"]
    )

    assert code == 0
    assert out.startswith("no release: The model pin is still heart-classifier:1")
    assert values["changed"] == "false"


def test_a_run_started_by_hand_always_releases(workflow_cli, history, tmp_path):
    root, commits = history

    _, out, values = decide(
        workflow_cli,
        root,
        tmp_path,
        "--event",
        "workflow_dispatch",
        "--base",
        "",
        "--head",
        commits["v1-edited"],
    )

    assert values["changed"] == "true"
    assert out == "release: Started by hand: releasing heart-classifier:1.\n"


@pytest.mark.parametrize("base", ["0" * 40, ""])
def test_no_commit_before_the_push_releases(workflow_cli, history, tmp_path, base):
    root, commits = history

    _, _, values = decide(workflow_cli, root, tmp_path, "--base", base, "--head", commits["v2"])

    assert values["changed"] == "true"
    assert values["reason"] == "No commit before this push: releasing heart-classifier:2."


def test_a_base_commit_missing_from_the_clone_releases(workflow_cli, history, tmp_path):
    root, commits = history

    _, _, values = decide(workflow_cli, root, tmp_path, "--base", "1" * 40, "--head", commits["v2"])

    assert values["changed"] == "true"
    assert "is not in this clone" in values["reason"]


def test_a_newly_added_plan_releases(workflow_cli, history, tmp_path):
    root, commits = history

    _, _, values = decide(workflow_cli, root, tmp_path, "--base", commits["empty"], "--head", commits["v1"])

    assert values["changed"] == "true"
    assert values["reason"].startswith("deployments/release.yml had no model pin at")


def test_a_head_without_the_plan_is_one_line(workflow_cli, history, tmp_path):
    root, commits = history

    result = workflow_cli(
        "pin-changed", "--path", str(root), "--base", commits["v1"], "--head", commits["empty"]
    )

    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: the release plan deployments/release.yml is not in commit {commits['empty']!r}\n"
    )


# -- what the endpoint serves decides (GitHub may have dropped the run of an earlier push) ---------


def served(tmp_path: Path, **status: object) -> str:
    path = tmp_path / "served.json"
    path.write_text(json.dumps({"endpoint": "heart-classifier", **status}))
    return str(path)


def serving(model: str, live: str = "blue") -> dict[str, object]:
    return {
        "live": live,
        "candidate": None,
        "release": None,
        "stage": None,
        "traffic": {live: 100},
        "deployments": [{"name": live, "model": model, "traffic": 100, "role": "live"}],
    }


def test_a_pin_the_endpoint_does_not_serve_releases_even_when_the_push_left_it_alone(
    workflow_cli, history, tmp_path
):
    # 1 -> 2 was pushed, its pending run was replaced by this unrelated edit's run: 1 still serves
    root, commits = history
    path = served(tmp_path, **serving("heart-classifier:1"))

    code, out, values = decide(
        workflow_cli, root, tmp_path, "--base", commits["v2"], "--head", commits["v2"], "--served", path
    )

    assert code == 0, out
    assert values["changed"] == "true"
    assert "serves heart-classifier:1, the plan pins heart-classifier:2" in values["reason"]


def test_a_pin_the_endpoint_serves_does_not_release(workflow_cli, history, tmp_path):
    root, commits = history
    path = served(tmp_path, **serving("heart-classifier:1"))

    _, out, values = decide(
        workflow_cli,
        root,
        tmp_path,
        "--base",
        commits["v1"],
        "--head",
        commits["v1-edited"],
        "--served",
        path,
    )

    assert values["changed"] == "false"
    assert out.startswith("no release: The model pin is still heart-classifier:1")


def test_a_pin_already_released_by_hand_does_not_release_again(workflow_cli, history, tmp_path):
    root, commits = history
    path = served(tmp_path, **serving("heart-classifier:2", live="green"))

    _, _, values = decide(
        workflow_cli,
        root,
        tmp_path,
        "--base",
        commits["v1-edited"],
        "--head",
        commits["v2"],
        "--served",
        path,
    )

    assert values["changed"] == "false"


def test_the_candidate_of_a_release_in_progress_is_not_released_twice(workflow_cli, history, tmp_path):
    root, commits = history
    status = serving("heart-classifier:1") | {
        "candidate": "green",
        "release": "heart-classifier:2",
        "stage": "canary",
    }
    status["deployments"] = [
        {"name": "blue", "model": "heart-classifier:1"},
        {"name": "green", "model": "heart-classifier:2"},
    ]

    _, _, values = decide(
        workflow_cli,
        root,
        tmp_path,
        "--base",
        commits["v2"],
        "--head",
        commits["v2"],
        "--served",
        served(tmp_path, **status),
    )

    assert values["changed"] == "false"
    assert "already the candidate of the release in progress" in values["reason"]


def test_a_new_endpoint_releases(workflow_cli, history, tmp_path):
    root, commits = history

    _, _, values = decide(
        workflow_cli,
        root,
        tmp_path,
        "--base",
        commits["v2"],
        "--head",
        commits["v2"],
        "--served",
        served(tmp_path, exists=False),
    )

    assert values["changed"] == "true"
    assert "does not exist yet" in values["reason"]


def test_a_rolled_back_pin_is_not_released_again_by_an_unrelated_push(workflow_cli, history, tmp_path):
    root, commits = history
    status = serving("heart-classifier:1") | {
        "candidate": "green",
        "release": "heart-classifier:2",
        "verdict": "rolled back",
    }

    _, _, values = decide(
        workflow_cli,
        root,
        tmp_path,
        "--base",
        commits["v2"],
        "--head",
        commits["v2"],
        "--served",
        served(tmp_path, **status),
    )

    assert values["changed"] == "false"
    assert "was rolled back" in values["reason"]


@pytest.fixture(scope="module")
def bumped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A plan pinned 1, then 2 (released, then rolled back), 3, an unrelated edit, 4, 3 again and 5,
    while 1 stays live: the runs of 3, the edit, 4 and 3's repin were dropped by the concurrency group."""
    root = tmp_path_factory.mktemp("bumped") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    commits = {"v1": commit(root, PLAN.format(version=1, traffic=10), "pin v1")}
    (root / "README").write_text("models\n")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "readme")  # not a change of the plan
    for version in (2, 3):
        commits[f"v{version}"] = commit(root, PLAN.format(version=version, traffic=10), f"pin v{version}")
    commits["edit"] = commit(root, PLAN.format(version=3, traffic=20), "widen canary")
    for key, version in (("v4", 4), ("v3-again", 3), ("v5", 5)):
        commits[key] = commit(root, PLAN.format(version=version, traffic=20), f"pin v{version}")
    return root, commits


def test_a_release_names_the_pins_whose_runs_the_concurrency_group_dropped(workflow_cli, bumped, tmp_path):
    root, commits = bumped
    rolled_back = serving("heart-classifier:1") | {"release": "heart-classifier:2", "verdict": "rolled back"}
    path = served(tmp_path, **rolled_back)

    code, out, values = decide(
        workflow_cli, root, tmp_path, "--base", commits["v4"], "--head", commits["v5"], "--served", path
    )

    assert code == 0, out
    assert values["changed"] == "true"
    assert values["skipped"] == "heart-classifier:3 heart-classifier:4"  # 2 ran; 3 pinned twice
    assert values[
        "reason"
    ].endswith(  # each at the commit that first pinned it
        " It skips 2 pin(s) the endpoint never served (runs GitHub's concurrency dropped, one pending "
        "run per endpoint, or runs that did not release them): "
        f"heart-classifier:3 ({commits['v3'][:7]} 'pin v3'), "
        f"heart-classifier:4 ({commits['v4'][:7]} 'pin v4')."
    )
    assert out.startswith("release: ") and "It skips 2 pin(s)" in out


def test_only_pins_after_the_served_one_are_skipped_and_an_unknown_served_one_skips_nothing(
    workflow_cli, bumped, tmp_path
):
    root, commits = bumped
    path = served(tmp_path, **serving("heart-classifier:4"))
    _, out, values = decide(
        workflow_cli, root, tmp_path, "--base", commits["v3-again"], "--head", commits["v5"], "--served", path
    )
    # 3 was pinned again after 4: it is listed as skipped, the served 4 and head's 5 are not
    assert values["skipped"] == "heart-classifier:3", out
    unknown = served(tmp_path, **serving("heart-classifier:9"))  # not in the plan's history
    _, out, values = decide(
        workflow_cli, root, tmp_path, "--base", commits["v4"], "--head", commits["v5"], "--served", unknown
    )
    assert values["skipped"] == "" and "It skips" not in values["reason"], out
