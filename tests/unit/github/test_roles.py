"""The roles of the release's jobs as code: what each grants and leaves out, the files in
`.github/roles/` (the repository's own are the rendered ones), each environment's roles, and the
az commands `rollout github roles` prints."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from rollout.core.errors import UserError
from rollout.github.environments_config import load_config, starter_config
from rollout.github.role_commands import AzureScope, commands
from rollout.github.roles import ENDPOINTS, environment_roles, job_roles, role_files

REPO = Path(__file__).resolve().parents[3]
SCOPE = AzureScope("sub", "rg", "ws", "locksacct", "locks")


def actions(key: str, auth_mode: str = "key") -> set[str]:
    role = next(role for role in job_roles(auth_mode) if role.key == key)
    return set(role.actions) | set(role.data_actions)


def test_each_kind_of_job_gets_only_what_it_needs():
    gate, deploy, traffic = actions("rollout-gate"), actions("rollout-deploy"), actions("rollout-traffic")
    assert not any(action.endswith(("/write", "/delete", "/action")) for action in gate)
    assert {ENDPOINTS + "/deployments/write", ENDPOINTS + "/deployments/delete"} <= deploy
    assert ENDPOINTS + "/deployments/getLogs/action" in deploy  # a failure's cause, the packages deployed
    assert ENDPOINTS + "/write" not in deploy and ENDPOINTS + "/delete" not in deploy
    assert ENDPOINTS + "/write" in traffic
    never = {ENDPOINTS + "/delete", ENDPOINTS + "/deployments/write", ENDPOINTS + "/regenerateKeys/action"}
    assert not never & traffic
    assert all(action.startswith("Microsoft.Storage/") for action in actions("rollout-lock"))
    assert not any(action.endswith("/delete") for action in actions("rollout-lock"))


@pytest.mark.parametrize(
    ("auth_mode", "credential"),
    [("key", "/listKeys/action"), ("aml_token", "/token/action"), ("aad_token", None)],
)
@pytest.mark.parametrize("role", ["rollout-acceptance", "rollout-traffic"])
def test_scoring_jobs_get_the_shortest_lived_credential_the_auth_mode_allows(role, auth_mode, credential):
    granted = actions(role, auth_mode)
    assert ENDPOINTS + "/score/action" in granted
    keys = {action for action in granted if action.endswith(("/listKeys/action", "/token/action"))}
    assert keys == ({ENDPOINTS + credential} if credential else set())


def test_the_repositorys_roles_are_the_rendered_ones_and_every_environment_names_existing_ones():
    for relative, text in role_files("key").items():
        assert (REPO / relative).read_text() == text
    config = load_config(REPO / ".github/environments.yml")
    for name, spec in config.environments.items():
        assert spec.roles == list(environment_roles(name)), name


def test_init_names_each_environments_roles(tmp_path):
    path = tmp_path / "environments.yml"
    path.write_text(
        starter_config(
            "release", "release-dispatch", ["canary", "production"], environment_roles, "release-rollback"
        )
    )
    text = path.read_text()
    assert "  release-dispatch:\n    identity:\n      client_id: 0" in text
    assert "    roles: [rollout-gate]\n" in text
    assert "  release:\n    identity:\n      client_id: 0" in text
    assert "    roles: [rollout-acceptance, rollout-deploy, rollout-lock]\n" in text  # no endpoint write
    assert "  release-rollback:\n    identity:\n      client_id: 0" in text
    assert (
        text.count("    roles: [rollout-traffic, rollout-lock]\n") == 3
    )  # the safety net, canary, production
    # every environment whose identity can move traffic or deploy keeps admins from bypassing its rules
    assert text.count("    can_admins_bypass: false\n") == 4
    assert "  release-dispatch:\n    identity:\n      client_id: 0" in text


def test_an_environment_that_can_move_traffic_must_keep_admins_from_bypassing_it(tmp_path):
    path = tmp_path / "environments.yml"
    client = "11111111-1111-4111-8111-111111111111"
    body = f"environments:\n  canary:\n    identity: {{client_id: {client}}}\n    roles: [rollout-traffic]\n"
    path.write_text(body)
    with pytest.raises(UserError, match=r"environments\.canary: .*set `can_admins_bypass: false`"):
        load_config(path)
    path.write_text(body + "    can_admins_bypass: false\n")
    assert load_config(path).environments["canary"].can_admins_bypass is False
    # a role that cannot move traffic needs no such setting
    path.write_text(body.replace("rollout-traffic", "rollout-gate"))
    assert load_config(path).environments["canary"].can_admins_bypass is True


def test_the_commands_create_each_role_then_assign_it_where_it_applies():
    lines = commands(REPO, load_config(REPO / ".github/environments.yml"), SCOPE)
    creates = [shlex.split(line) for line in lines if line.startswith("az role definition create")]
    definitions = [json.loads(words[-1]) for words in creates]
    assert sorted(d["Name"] for d in definitions) == [
        "rollout acceptance",
        "rollout deploy",
        "rollout gate",
        "rollout pull request",
        "rollout release lock",
        "rollout traffic",
    ]
    assert {tuple(d["AssignableScopes"]) for d in definitions} == {("/subscriptions/sub/resourceGroups/rg",)}
    dispatch = [line for line in lines if line.endswith("# release-dispatch")]
    assert dispatch == [
        "az role assignment create --assignee 6f1c0e2a-0000-4000-8000-000000000002 --role 'rollout gate' "
        "--scope /subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices"
        "/workspaces/ws  # release-dispatch"
    ]
    lock = [line for line in lines if "'rollout release lock'" in line and line.endswith("# canary")]
    assert lock and lock[0].split("--scope ")[1].startswith(
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/locksacct/"
        "blobServices/default/containers/locks "
    )


def test_a_role_no_file_defines_is_refused(tmp_path):
    config = load_config(REPO / ".github/environments.yml")
    with pytest.raises(
        UserError, match=r"rollout-acceptance.json not found \(run `rollout workflow render`\)"
    ):
        commands(tmp_path, config, SCOPE)
