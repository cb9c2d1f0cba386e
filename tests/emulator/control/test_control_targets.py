"""`rollout.targets`: what each target needs, and clear errors when it is missing."""

from __future__ import annotations

import pytest

from rollout import targets
from rollout.errors import UserError


def test_the_local_target_needs_a_running_emulator(tmp_path):
    with pytest.raises(UserError, match=r"the local emulator is not running .*rollout emulator start"):
        targets.ml_client("local", state_dir=tmp_path / "nothing-here")


def test_the_azure_target_names_what_is_missing(monkeypatch):
    for variable in targets.AZURE_ENV.values():
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(UserError) as raised:
        targets.ml_client("azure", workspace="ws")
    assert str(raised.value) == (
        "target azure needs AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP (set the variables or pass the options)"
    )
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "rg")
    assert targets.azure_scope(workspace="ws") == {
        "subscription": "sub",
        "resource_group": "rg",
        "workspace": "ws",
    }
    assert targets.ca_file("azure") is None


def test_unknown_targets_are_refused():
    with pytest.raises(UserError, match="unknown target 'staging': choose local or azure"):
        targets.ml_client("staging")


def test_the_local_target_describes_the_running_emulator(emulator, ml_client):
    options = {"state_dir": emulator.state_dir}
    assert targets.ca_file("local", **options) == emulator.ca_file
    assert targets.registry_uri("local", **options) == emulator.registry_uri
    assert targets.emulator_url(**options) == emulator.url
    assert ml_client.subscription_id == "00000000-0000-0000-0000-000000000000"
    assert (ml_client.resource_group_name, ml_client.workspace_name) == ("local", "local")
    token = targets.credential("local", **options).get_token("https://management.azure.com/.default")
    assert token.token == emulator.management_token
