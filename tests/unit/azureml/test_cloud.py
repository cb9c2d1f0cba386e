"""The azure target reaches the user's cloud: named, sovereign, or custom from ARM cloud metadata."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rollout.azureml.azure_target import AzureTarget
from rollout.azureml.cloud import CLOUD_ENV, METADATA_URL_ENV, resolve_cloud
from rollout.azureml.scoring import tls_verify
from rollout.core.errors import UserError

CUSTOM = "ContosoCloud"
CUSTOM_RM = "https://management.contoso.test:8443/"


@pytest.fixture(autouse=True)
def no_cloud_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-ai-ml writes AZUREML_CURRENT_CLOUD into os.environ; monkeypatch puts it back after."""
    for name in (CLOUD_ENV, METADATA_URL_ENV):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)


@pytest.fixture
def metadata_url() -> Iterator[str]:
    """A loopback server of an ARM cloud-metadata document (2019-05-01 shape) listing a custom cloud."""
    document = [
        {
            "name": CUSTOM,
            "portal": "https://portal.contoso.test/",
            "resourceManager": CUSTOM_RM,
            "authentication": {
                "loginEndpoint": "https://login.contoso.test/",
                "audiences": [CUSTOM_RM],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "suffixes": {"storage": "core.contoso.test"},
        }
    ]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/metadata/endpoints?api-version=2019-05-01"
    server.shutdown()
    server.server_close()


def test_without_settings_the_sdks_default_is_the_public_cloud() -> None:
    cloud = resolve_cloud()
    assert (cloud.name, cloud.resource_manager) == ("AzureCloud", "https://management.azure.com")
    assert cloud.arm_scope == "https://management.azure.com/.default"


@pytest.mark.parametrize(
    ("name", "resource_manager"),
    [
        ("AzureUSGovernment", "https://management.usgovcloudapi.net"),
        ("AzureChinaCloud", "https://management.chinacloudapi.cn"),
    ],
)
def test_sovereign_clouds_by_name_or_by_the_sdks_variable(
    name: str, resource_manager: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_cloud(name).resource_manager == resource_manager
    monkeypatch.setenv(CLOUD_ENV, name)
    assert resolve_cloud().resource_manager == resource_manager


def test_a_custom_cloud_comes_from_the_metadata_document(
    metadata_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(METADATA_URL_ENV, metadata_url)
    monkeypatch.setenv(CLOUD_ENV, CUSTOM)
    cloud = resolve_cloud()
    assert (cloud.name, cloud.resource_manager) == (CUSTOM, CUSTOM_RM.rstrip("/"))
    assert cloud.active_directory == "https://login.contoso.test"


def test_an_unknown_cloud_is_the_users_error(metadata_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(METADATA_URL_ENV, metadata_url)
    with pytest.raises(UserError, match="unknown Azure cloud 'NoSuchCloud'"):
        resolve_cloud("NoSuchCloud")


def test_the_ml_client_uses_the_users_cloud_not_a_forced_one(
    metadata_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(METADATA_URL_ENV, metadata_url)
    monkeypatch.setenv(CLOUD_ENV, CUSTOM)
    ml = AzureTarget("sub", "rg", "ws").ml_client()
    assert ml._base_url == CUSTOM_RM.rstrip("/")
    assert ml._kwargs["credential_scopes"] == [f"{CUSTOM_RM.rstrip('/')}/.default"]
    gov = AzureTarget("sub", "rg", "ws", cloud="AzureUSGovernment")
    assert gov.ml_client()._base_url == "https://management.usgovcloudapi.net"
    assert gov.child_environment()[CLOUD_ENV] == "AzureUSGovernment"


def test_the_root_cloud_option_sets_the_sdks_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from typer.testing import CliRunner

    from rollout.cli import app

    result = CliRunner().invoke(app, ["--cloud", "AzureChinaCloud", "emulator", "env", "--help"])
    assert result.exit_code == 0, result.output
    assert os.environ[CLOUD_ENV] == "AzureChinaCloud"


def test_the_scoring_client_trusts_what_azure_core_trusts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(certifi.where()).read_text())
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    assert tls_verify(True) is True  # httpx's own default (certifi, or SSL_CERT_FILE)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert isinstance(tls_verify(True), ssl.SSLContext)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert tls_verify(True) is True  # httpx reads SSL_CERT_FILE itself
    assert tls_verify(False) is False
