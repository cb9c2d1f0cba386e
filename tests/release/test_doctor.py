"""`rollout doctor` against the emulator: all green on a released project whose environments'
identities hold their roles; each failure made real gives its line of advice and exit 1.

One endpoint (blue live on version 1) serves the whole module; each failure is made on a copy of
the project or on one identity's roles, and put back."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from labs import Lab, Result
from release_lab import REPO, make_project, serving_v1
from rollout.doctor.gather import audience_of
from rollout.github.roles import ROLES_DIR

RELEASE_ID = str(uuid.uuid4())
CANARY_ID = str(uuid.uuid4())
ROLES = {
    "release": ["rollout-acceptance", "rollout-deploy", "rollout-lock"],
    "canary": ["rollout-traffic", "rollout-lock"],
}
CLIENT_IDS = {"release": RELEASE_ID, "canary": CANARY_ID}
PULL_REQUEST_ID = str(uuid.uuid4())


@pytest.fixture(scope="module")
def released(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project with blue live on version 1, its environments' identities holding their roles."""
    root = make_project(tmp_path_factory.mktemp("doctor") / "project", "ep-doctor-preflight")
    shutil.copytree(REPO / ROLES_DIR, root / ROLES_DIR)
    environments = {
        name: {"identity": {"client_id": CLIENT_IDS[name]}, "roles": roles, "can_admins_bypass": False}
        for name, roles in ROLES.items()
    }
    pull_requests = {"identity": {"client_id": PULL_REQUEST_ID}}  # its roles: rollout-pull-request
    (root / ".github" / "environments.yml").write_text(
        yaml.safe_dump({"environments": environments, "pull_requests": pull_requests})
    )
    serving_v1(lab, root)
    for name in ROLES:
        grant(lab, root, name, ROLES[name])
    yield root
    lab.remove_endpoint("ep-doctor-preflight")


def grant(lab: Lab, root: Path, environment: str, roles: list[str]) -> None:
    """Give an environment's identity exactly these roles (the lock's on the lock's container)."""
    target = lab.target()
    container = lab.lock_container(root)
    target.identity_token(
        CLIENT_IDS[environment],
        [
            (
                root / ROLES_DIR / f"{key}.json",
                target.container_scope(container) if key == "rollout-lock" else None,
            )
            for key in roles
        ],
    )


def copy_of(released: Path, tmp_path: Path) -> Path:
    """A copy of the released project, to change without touching the module's."""
    copy = tmp_path / "project"
    shutil.copytree(released, copy)
    return copy


def doctor(lab: Lab, root: Path, *environments: str) -> Result:
    args = [arg for name in environments for arg in ("--environment", name)]
    return lab.in_process("doctor", "--path", str(root), *args)


def test_a_healthy_project_passes_every_check(lab: Lab, released: Path) -> None:
    result = doctor(lab, released, "release", "canary")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "LocalTokenCredential answered for the local emulator" in out
    assert "all checks passed" in out and "FAIL" not in out
    for line in (
        "on the workspace",
        "on the endpoint",
        "on the lock container",
        "auth mode key, as the spec",
    ):
        assert line in out
    assert "live: deployed as its spec" in out
    assert "idle: the next release deploys into it" in out
    assert "published on the endpoint: RequestsPerMinute, RequestLatency_P95" in out
    assert "exists; the caller reads, writes and leases its blobs" in out
    assert "none in .github/workflows: releases run by hand" in " ".join(out.split())
    assert "standardDSv2Family: 8 cores needed (1 x Standard_DS3_v2" in " ".join(out.split())
    cells = " ".join(out.replace("│", " ").split())  # a long detail wraps onto the next rows
    assert "; regional total: " in cells and " used of 3000: fits" in cells


@pytest.mark.parametrize(
    ("limit", "increase"),
    [
        ("standardDSv2Family=0", "a quota increase for standardDSv2Family"),
        ("regional=0", "a regional quota increase (Total Cluster Dedicated Regional vCPUs)"),
    ],
    ids=["family", "regional"],
)
def test_no_quota_for_the_idle_slot_fails_with_what_to_do(
    lab: Lab, released: Path, limit: str, increase: str
) -> None:
    state_dir = str(lab.state_dir)
    assert lab.in_process("emulator", "quota", limit, "--state-dir", state_dir).returncode == 0
    try:
        result = doctor(lab, released)
    finally:
        lab.in_process("emulator", "quota", limit.replace("=0", "=default"), "--state-dir", state_dir)
    assert result.returncode == 1
    out = " ".join(result.stdout.replace("│", " ").split())  # a long detail wraps onto the next rows
    assert "with 20% of instances reserved for upgrades)" in out and "used of 0, 0 free" in out
    assert "free; regional total: " in out  # the family's usage, then the regional total's
    assert (
        f"advice: quota green: request {increase} in the workspace's region, "
        "or choose a smaller instance_type or fewer instances in green's spec"
    ) in out
    assert "1 check(s) failed" in out


def test_an_identity_without_a_role_fails_with_the_role_to_assign(lab: Lab, released: Path) -> None:
    grant(lab, released, "canary", ["rollout-traffic"])  # no data role on the lock's container
    try:
        result = doctor(lab, released, "canary")
    finally:
        grant(lab, released, "canary", ROLES["canary"])
    assert result.returncode == 1
    assert "blobs/read" in result.stdout and "blobs/write" in result.stdout
    assert (
        f"advice: permissions canary ({CANARY_ID}): assign identity {CANARY_ID} the roles rollout-lock"
        in (" ".join(result.stdout.split()))
    )
    assert "1 check(s) failed" in result.stdout


def test_the_pull_requests_identity_is_checked_against_its_read_only_role(lab: Lab, released: Path) -> None:
    target = lab.target()
    role = released / ROLES_DIR / "rollout-pull-request.json"
    target.identity_token(PULL_REQUEST_ID, [(released / ROLES_DIR / "rollout-gate.json", None)])
    short = doctor(lab, released, "pull_requests")
    target.identity_token(PULL_REQUEST_ID, [(role, None)])
    result = doctor(lab, released, "pull_requests")

    assert short.returncode == 1
    out = " ".join(short.stdout.split())
    assert f"on the workspace: identity {PULL_REQUEST_ID} lacks" in out and "models/versions/read" in out
    assert f"assign identity {PULL_REQUEST_ID} the roles rollout-pull-request" in out
    assert result.returncode == 0, result.stdout + result.stderr
    assert "on the workspace: everything rollout-pull-request need" in " ".join(result.stdout.split())


def test_an_identity_the_target_does_not_know_cannot_be_checked(
    lab: Lab, released: Path, tmp_path: Path
) -> None:
    copy = copy_of(released, tmp_path)
    config = copy / ".github" / "environments.yml"
    declared = yaml.safe_load(config.read_text())
    unknown = {"client_id": str(uuid.uuid4())}  # an identity the emulator never issued a token to
    declared["environments"]["production"] = {
        "identity": unknown,
        "roles": ["rollout-traffic", "rollout-lock"],
        "can_admins_bypass": False,
    }
    config.write_text(yaml.safe_dump(declared))
    result = doctor(lab, copy, "production")
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    assert "cannot read the permissions" in text and "401" in text
    assert "3 check(s) failed" in text  # the workspace, the endpoint and the lock's container
    assert "and give it the roles rollout-traffic (`rollout github roles`" in text
    assert "and give it the roles rollout-lock (`rollout github roles`" in text


def test_specs_that_differ_from_the_live_endpoint_fail_with_what_to_change(
    lab: Lab, released: Path, tmp_path: Path
) -> None:
    copy = copy_of(released, tmp_path)
    blue = copy / "deployments" / "blue.yml"
    spec = yaml.safe_load(blue.read_text())
    spec["instance_count"] = 2
    spec["request_settings"]["request_timeout_ms"] = 9000
    blue.write_text(yaml.safe_dump(spec))
    endpoint = copy / "endpoints" / "heart-classifier.yml"
    endpoint.write_text(endpoint.read_text().replace("auth_mode: key", "auth_mode: aml_token"))
    result = doctor(lab, copy)
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    assert "auth mode: the spec says aml_token, the live endpoint key" in text
    assert "set `auth_mode: key` in the endpoint's spec" in text
    assert "instance_count: the spec says 2, the live deployment 1" in text
    assert "set `instance_count: 1` in the slot's spec" in text
    assert "request_settings.request_timeout_ms: the spec says 9000" in text
    assert "3 check(s) failed" in text


def test_a_lock_container_that_does_not_exist_fails_with_how_to_create_it(
    lab: Lab, released: Path, tmp_path: Path
) -> None:
    copy = copy_of(released, tmp_path)
    plan_file = copy / "deployments" / "release.yml"
    plan = yaml.safe_load(plan_file.read_text())
    plan["lock"] = {**plan.get("lock", {}), "container": "no-such-locks"}
    plan_file.write_text(yaml.safe_dump(plan, sort_keys=False))
    result = doctor(lab, copy)
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    assert "the lock's container no-such-locks does not exist in account" in text
    assert "--name no-such-locks --auth-mode login`) or name an existing one" in text
    assert "1 check(s) failed" in text


def test_an_environment_the_file_does_not_declare_is_one_error_line(lab: Lab, released: Path) -> None:
    result = doctor(lab, released, "prodution")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "error: --environment prodution: .github/environments.yml declares no such environment "
        "(it declares canary, release)"
    )


def test_workflows_out_of_step_with_the_plan_fail_with_how_to_render_them(
    lab: Lab, released: Path, tmp_path: Path
) -> None:
    copy = copy_of(released, tmp_path)
    rendered = lab.in_process("workflow", "render", "--path", str(copy))
    assert rendered.returncode == 0, rendered.stderr
    in_step = doctor(lab, copy)
    assert "the workflows and the roles match the plan" in " ".join(in_step.stdout.split())
    plan_file = copy / "deployments" / "release.yml"
    plan = yaml.safe_load(plan_file.read_text())
    plan["stages"][-1]["bake"] = "7m"  # the plan changed, the workflows were not rendered again
    plan_file.write_text(yaml.safe_dump(plan, sort_keys=False))
    result = doctor(lab, copy)
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    assert "out of step with the release plan: .github/workflows/release.yml" in text
    assert "run `rollout workflow render` and commit what it writes" in text
    assert "1 check(s) failed" in text


def test_an_identitys_token_is_for_the_emulators_resource_manager(lab: Lab, released: Path) -> None:
    """As Entra ID gives a token for a cloud's resource manager that cloud's audience: the
    credential line of a job logged in as an identity (the release workflow's doctor job) holds."""
    target = lab.target()
    token = target.existing_identity_token(RELEASE_ID)
    assert audience_of(token) == target.emulator().url.rstrip("/") + "/"
