"""The pull requests' identity as code: its read-only role, written beside the others, and the
assignment `rollout github roles` prints for it with its federated credential's subject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout.core.errors import UserError
from rollout.github.environments_config import load_config
from rollout.github.role_commands import AzureScope, commands
from rollout.github.roles import ENDPOINTS, ML, PULL_REQUEST_ROLE, job_roles, role_files

REPO = Path(__file__).resolve().parents[3]
SCOPE = AzureScope("sub", "rg", "ws", "locksacct", "locks")


@pytest.mark.parametrize("auth_mode", ["key", "aml_token", "aad_token"])
def test_the_pull_requests_role_reads_models_and_the_endpoint_and_nothing_more(auth_mode):
    role = next(role for role in job_roles(auth_mode) if role.key == PULL_REQUEST_ROLE)
    assert role.actions == (
        ML + "/read",
        ENDPOINTS + "/read",
        ENDPOINTS + "/deployments/read",  # azure-ai-ml's get of an endpoint lists them (its traffic)
        ML + "/models/read",
        ML + "/models/versions/read",
    )
    assert role.data_actions == ()  # no scoring, no blob of the lock
    path = Path(".github/roles/rollout-pull-request.json")
    assert json.loads(role_files(auth_mode)[path])["Actions"] == list(role.actions)
    assert (REPO / path).read_text() == role_files("key")[path]  # the repository's own is the rendered one


def test_the_commands_assign_it_to_the_pull_requests_identity_naming_its_subject():
    lines = commands(REPO, load_config(REPO / ".github/environments.yml"), SCOPE, "acme/models")
    mine = [line for line in lines if "'rollout pull request'" in line]
    assert mine == [
        "az role assignment create --assignee 6f1c0e2a-0000-4000-8000-000000000008 "
        "--role 'rollout pull request' --scope "
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
        "  # pull requests (federated credential subject repo:acme/models:pull_request)"
    ]
    created = [
        line for line in lines if line.startswith("az role definition create") and "pull request" in line
    ]
    assert len(created) == 1
    unnamed = commands(REPO, load_config(REPO / ".github/environments.yml"), SCOPE)
    assert unnamed[-1].endswith("(federated credential subject repo:OWNER/REPO:pull_request)")


def test_its_identity_may_not_move_traffic(tmp_path):
    path = tmp_path / "environments.yml"
    release = "11111111-1111-4111-8111-111111111111"
    pull_requests = "22222222-2222-4222-8222-222222222222"
    path.write_text(
        f"environments:\n  release:\n    identity: {{client_id: {release}}}\n"
        f"pull_requests:\n  identity: {{client_id: {pull_requests}}}\n  roles: [rollout-traffic]\n"
    )
    with pytest.raises(UserError, match=r"pull_requests: .*must not hold rollout-traffic: it can move"):
        load_config(path)
