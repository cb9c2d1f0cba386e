"""The stand-in `az` (tools/act/bin/az) answers azure-identity's Azure CLI credential like a logged-in az."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
AZ = REPO / "tools" / "act" / "bin" / "az"
RESOURCE = "https://127.0.0.1:8443"


@pytest.fixture
def az_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    token = tmp_path / "arm-token"
    token.write_text("the-token\n")
    values = {
        "ROLLOUT_AZ_TOKEN_FILE": str(token),
        "ROLLOUT_AZ_RESOURCE": RESOURCE + "/",
        "ROLLOUT_AZ_LOG": str(tmp_path / "az.log"),
        "PATH": f"{AZ.parent}{os.pathsep}{os.environ['PATH']}",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("ARM_CLOUD_METADATA_URL", "AZUREML_CURRENT_CLOUD", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)
    return values


def az(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(AZ), *args], capture_output=True, text=True, timeout=30)


def test_answers_get_access_token_for_the_clouds_resource_manager(az_env: dict[str, str]) -> None:
    done = az("account", "get-access-token", "--output", "json", "--resource", RESOURCE)
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["accessToken"] == "the-token"
    assert reply["tokenType"] == "Bearer"
    assert isinstance(reply["expires_on"], int)
    assert set(reply) == {"accessToken", "expiresOn", "expires_on", "subscription", "tenant", "tokenType"}
    scoped = az("account", "get-access-token", "--output", "json", "--scope", f"{RESOURCE}/.default")
    with_tenant = az("account", "get-access-token", "-o", "json", "--resource", RESOURCE, "--tenant", "t1")
    assert scoped.returncode == 0
    assert json.loads(with_tenant.stdout)["tenant"] == "t1"
    calls = [json.loads(line) for line in Path(az_env["ROLLOUT_AZ_LOG"]).read_text().splitlines()]
    assert calls[0] == {
        "argv": ["account", "get-access-token", "--output", "json", "--resource", RESOURCE],
        "ok": True,
    }


@pytest.mark.parametrize(
    "args",
    [
        ["account", "get-access-token", "--output", "json", "--resource", "https://management.azure.com"],
        ["account", "get-access-token", "--output", "table", "--resource", RESOURCE],
        ["account", "get-access-token", "--resource", RESOURCE, "--scope", f"{RESOURCE}/.default"],
        ["account", "show"],
        ["login"],
        [],
    ],
)
def test_anything_else_fails_like_an_az_that_is_not_logged_in(
    args: list[str], az_env: dict[str, str]
) -> None:
    done = az(*args)
    assert done.returncode == 1
    assert "Please run 'az login' to setup account." in done.stderr
    assert done.stdout == ""


def test_without_a_token_file_it_is_not_logged_in(
    az_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLOUT_AZ_TOKEN_FILE", "/nonexistent/arm-token")
    assert az("account", "get-access-token", "--output", "json", "--resource", RESOURCE).returncode == 1


def test_azure_identitys_cli_credential_takes_its_token(az_env: dict[str, str]) -> None:
    from azure.identity import AzureCliCredential, CredentialUnavailableError

    token = AzureCliCredential().get_token(f"{RESOURCE}/.default")
    assert token.token == "the-token"
    with pytest.raises(CredentialUnavailableError):
        AzureCliCredential().get_token("https://management.azure.com/.default")


def test_it_serves_azure_storage_as_a_logged_in_az_does(az_env: dict[str, str]) -> None:
    for resource in ("https://storage.azure.com", "https://storage.azure.com/"):
        done = az("account", "get-access-token", "--output", "json", "--resource", resource)
        assert done.returncode == 0 and json.loads(done.stdout)["accessToken"] == "the-token"
    assert az("account", "get-access-token", "--scope", "https://storage.azure.com/.default").returncode == 0


def test_output_none_prints_nothing_and_serves_only_the_clouds_resource_manager(
    az_env: dict[str, str],
) -> None:
    done = az("account", "get-access-token", "--resource", RESOURCE, "--output", "none")
    assert (done.returncode, done.stdout) == (0, "")
    done = az("account", "get-access-token", "--resource", "https://ml.azure.com/", "--output", "none")
    assert done.returncode == 1
