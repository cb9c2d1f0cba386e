"""`rollout target check` on Azure without a workspace or a known cloud: one clear line, exit 1."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rollout.cli import app

WORKSPACE_VARIABLES = ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE")


def test_azure_without_a_workspace_names_the_missing_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WORKSPACE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["target", "check", "--target", "azure"])
    assert result.exit_code == 1, result.output
    assert (
        "target azure needs AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZUREML_WORKSPACE" in result.output
    )


def test_azure_in_an_unknown_cloud_says_how_to_describe_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WORKSPACE_VARIABLES:
        monkeypatch.setenv(name, "x")
    monkeypatch.delenv("ARM_CLOUD_METADATA_URL", raising=False)
    result = CliRunner().invoke(app, ["--cloud", "NoSuchCloud", "target", "check", "--target", "azure"])
    assert result.exit_code == 1, result.output
    assert "unknown Azure cloud 'NoSuchCloud'" in result.output
    assert "ARM_CLOUD_METADATA_URL" in result.output


def test_azure_without_a_login_says_where_it_could_not_sign_in(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in WORKSPACE_VARIABLES:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("PATH", str(tmp_path))  # no az
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")
    monkeypatch.delenv("ARM_CLOUD_METADATA_URL", raising=False)
    monkeypatch.delenv("AZUREML_CURRENT_CLOUD", raising=False)
    result = CliRunner().invoke(app, ["target", "check", "--target", "azure"])
    assert result.exit_code == 1, result.output
    assert "cannot sign in to cloud AzureCloud (https://management.azure.com)" in result.output
    assert "run `az login`" in result.output
