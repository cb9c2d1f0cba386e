"""The release workflow's deploy and retire jobs with the deploy role alone (`rollout-deploy` and the
lock's role, as the `release` environment's identity holds them), against the emulator enforcing
Azure RBAC: `rollout deploy --deployments-only` records the release on the candidate deployment
and `rollout retire` deletes the drained old deployment, neither writes the endpoint, and the
identity's own endpoint write is refused with 403 `AuthorizationFailed`."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError

from labs import Lab
from release_lab import REPO, VERSIONS
from rollout.azureml.connection import Connection
from rollout.azureml.endpoints import set_traffic
from rollout.azureml.local_target import LocalTarget, LocalTokenCredential
from rollout.emulator.host.process import EmulatorStatus
from rollout.github.roles import ROLES_DIR
from rollout.release.roles import closing_tags
from rollout.release.steps import Release


def signed_in_as(lab: Lab, root: Path, roles: list[str]) -> Connection:
    """A connection to the lab's emulator as a new identity holding exactly `roles` (the lock's on
    the project's lock container)."""
    target = lab.target()
    container = target.container_scope(lab.lock_container(root))
    token = target.identity_token(
        str(uuid.uuid4()),
        [(REPO / ROLES_DIR / f"{key}.json", container if key == "rollout-lock" else None) for key in roles],
    )

    class SignedIn(LocalTarget):
        @staticmethod
        def _credential(running: EmulatorStatus) -> LocalTokenCredential:
            return LocalTokenCredential(token)

    return Connection(SignedIn(target.state_dir))


def test_the_deploy_role_deploys_and_retires_and_cannot_write_the_endpoint(
    lab: Lab, live_on_v1: Release
) -> None:
    admin = live_on_v1
    deployer = Release(
        signed_in_as(lab, admin.project.root, ["rollout-deploy", "rollout-lock"]), admin.project
    )
    tags_before = dict(admin.endpoint().tags or {})

    deployed = deployer.deploy(version=VERSIONS["v2"], deployments_only=True)

    assert (deployed.live, deployed.candidate) == ("blue", "green")
    assert admin.endpoint().tags == tags_before  # the record is on the candidate only
    assert (admin.conn.ml.online_deployments.get("green", admin.endpoint_name).tags or {})[
        "rollout.candidate"
    ] == ("green")
    status = admin.status()  # what the gate and `rollout status` read
    assert (status.live, status.candidate, status.release) == (
        "blue",
        "green",
        f"heart-classifier:{VERSIONS['v2']}",
    )

    endpoint = deployer.conn.ml.online_endpoints.get(admin.endpoint_name)
    endpoint.traffic = {"blue": 0, "green": 100}
    with pytest.raises(HttpResponseError) as refused:
        deployer.conn.ml.online_endpoints.begin_create_or_update(endpoint).result()
    assert (refused.value.status_code, refused.value.error.code) == (403, "AuthorizationFailed")
    assert admin.status().traffic == {"blue": 100}

    # a rollback before any stage (a traffic identity's job) finds the record on the candidate
    assert admin.rollback().to_dict() == {"live": "blue", "candidate": "green", "deleted": False}
    rolled_back = admin.status()
    assert (rolled_back.candidate, rolled_back.verdict, rolled_back.traffic) == (
        "green",
        "rolled back",
        {"blue": 100},
    )

    # the last stage (a traffic identity's job) closes the release as it passes
    close = {**admin.roles().record_tags(), **closing_tags("green", "blue")}
    set_traffic(admin.conn.ml, admin.endpoint_name, {"green": 100}, close)
    # after it, before retire: a rollback opens the release again and gives blue all traffic back
    admin.rollback()
    reopened = admin.status()
    assert (reopened.live, reopened.candidate, reopened.traffic) == ("blue", "green", {"blue": 100})
    set_traffic(admin.conn.ml, admin.endpoint_name, {"green": 100}, close)
    tags_closed = dict(admin.endpoint().tags or {})

    retired = deployer.retire(now=True)

    assert (retired.retired, retired.live) == ("blue", "green")
    assert set(d.name for d in admin.conn.ml.online_deployments.list(admin.endpoint_name)) == {"green"}
    assert admin.endpoint().tags == tags_closed
    after = admin.status()
    assert (after.live, after.candidate, after.traffic) == ("green", None, {"green": 100})


def test_a_deploy_that_writes_deployments_only_needs_the_endpoint(lab: Lab, project: Path) -> None:
    result = lab.in_process("deploy", "--deployments-only", "--path", str(project))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "does not exist, and this deploy writes deployments only" in lines[0]
    assert "create it once with `rollout endpoint apply -f endpoints/heart-classifier.yml`" in lines[0]
    assert not lab.release(project).exists()  # nothing was created
