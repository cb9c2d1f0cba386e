"""`rollout.azureml` targets: what each target needs, and clear errors when it is missing."""

from __future__ import annotations

import pytest

from rollout.azureml.azure_target import AZURE_ENV, AzureTarget
from rollout.azureml.local_target import LocalTarget
from rollout.azureml.targets import parse_target
from rollout.core.errors import UserError


def test_the_local_target_needs_a_running_emulator(tmp_path):
    with pytest.raises(UserError, match=r"the local emulator is not running .*rollout emulator start"):
        LocalTarget(tmp_path / "nothing-here", start=False).ml_client()


def test_the_azure_target_names_what_is_missing(monkeypatch):
    for variable in AZURE_ENV.values():
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(UserError) as raised:
        parse_target("azure", workspace="ws").ml_client()
    assert str(raised.value) == (
        "target azure needs AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP (set the variables or pass the "
        "options)"
    )
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "rg")
    target = AzureTarget(workspace="ws")
    assert target.scope() == {"subscription": "sub", "resource_group": "rg", "workspace": "ws"}
    assert target.ca_file() is None


def test_unknown_targets_are_refused():
    with pytest.raises(UserError, match="unknown target 'staging': choose local or azure"):
        parse_target("staging")


def test_the_local_target_describes_the_running_emulator(emulator, ml_client):
    target = LocalTarget(emulator.state_dir)
    assert target.ca_file() == emulator.ca_file
    assert target.mlflow_uri() == emulator.registry_uri
    assert target.url() == emulator.url
    assert ml_client.subscription_id == "00000000-0000-0000-0000-000000000000"
    assert (ml_client.resource_group_name, ml_client.workspace_name) == ("local", "local")
    token = target.credential().get_token("https://management.azure.com/.default")
    assert token.token == emulator.management_token
