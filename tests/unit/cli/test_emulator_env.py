"""`rollout emulator env`: the environment that presents the emulator as an Azure cloud."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rollout.cli import app
from rollout.emulator.constants import CLOUD_NAME, RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE

EXPECTED = {
    "AZUREML_CURRENT_CLOUD",
    "ARM_CLOUD_METADATA_URL",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZUREML_WORKSPACE",
    "ROLLOUT_AZ_TOKEN_FILE",
}


def test_without_a_running_emulator_it_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["emulator", "env", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "the emulator is not running" in result.output


def test_prints_the_cloud_environment_of_a_running_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rollout.emulator.host import process

    running = process.EmulatorStatus(
        pid=1,
        url="https://127.0.0.1:4443",
        port=4443,
        ca_file=str(tmp_path / "tls" / "ca.pem"),
        state_dir=str(tmp_path),
        registry_uri="sqlite:///x.db",
    )
    monkeypatch.setattr(process, "status", lambda directory: running)
    shown = CliRunner().invoke(app, ["emulator", "env", "--json", "--state-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    variables = json.loads(shown.output)
    assert set(variables) == EXPECTED
    assert variables["AZUREML_CURRENT_CLOUD"] == CLOUD_NAME
    assert variables["ARM_CLOUD_METADATA_URL"] == (
        "https://127.0.0.1:4443/metadata/endpoints?api-version=2019-05-01"
    )
    assert variables["REQUESTS_CA_BUNDLE"] == variables["SSL_CERT_FILE"] == running.ca_file
    assert (
        variables["AZURE_SUBSCRIPTION_ID"],
        variables["AZURE_RESOURCE_GROUP"],
        variables["AZUREML_WORKSPACE"],
    ) == (
        SUBSCRIPTION_ID,
        RESOURCE_GROUP,
        WORKSPACE,
    )
    assert variables["ROLLOUT_AZ_TOKEN_FILE"] == str(tmp_path / "arm-token")
    exports = CliRunner().invoke(app, ["emulator", "env", "--state-dir", str(tmp_path)]).output
    assert (
        "export ARM_CLOUD_METADATA_URL='https://127.0.0.1:4443/metadata/endpoints?api-version=2019-05-01'\n"
        in exports
    )
    assert exports.count("export ") == len(EXPECTED)
