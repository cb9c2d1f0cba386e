"""The emulator presented as an Azure cloud, and `rollout` processes that use it as one.

The processes get the environment a user of a custom cloud has after `azure/login`: the cloud's
name and metadata URL, its CA in REQUESTS_CA_BUNDLE and SSL_CERT_FILE (all from
`rollout emulator env`), the stand-in `az` (tools/act/bin/az) first on PATH, and no other Azure
credential variables, so `DefaultAzureCredential` gets its tokens from the Azure CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_lab import CloudLab

REPO = Path(__file__).resolve().parents[2]
STAND_IN_AZ_DIR = REPO / "tools" / "act" / "bin"

# what could make DefaultAzureCredential take another road than the Azure CLI, or pick another scope
_DROPPED_PREFIXES = ("AZURE_", "AZUREML_", "ARM_", "MSI_", "IDENTITY_", "IMDS_", "MLFLOW_")
_DROPPED = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "GITHUB_OUTPUT")


@pytest.fixture(scope="session")
def cloud_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudLab]:
    from rollout.emulator.host import process

    home = tmp_path_factory.mktemp("azure-cloud")
    state_dir = home / "emulator"
    process.start(state_dir, f"sqlite:///{home / 'workspace-mlflow.db'}")
    try:
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES) and k not in _DROPPED
        }
        base |= {"ROLLOUT_HOME": str(home / "rollout-home"), "PYTHONPATH": str(REPO / "src")}
        shown = subprocess.run(
            [sys.executable, "-m", "rollout", "emulator", "env", "--json", "--state-dir", str(state_dir)],
            env=base,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        (home / "bare-home").mkdir()
        env = base | json.loads(shown.stdout)
        env |= {
            "PATH": f"{STAND_IN_AZ_DIR}{os.pathsep}{base.get('PATH', '')}",
            "HOME": str(home / "bare-home"),  # no cached Azure logins of anyone's
            "ROLLOUT_AZ_LOG": str(home / "az.log"),
            "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",  # a documented setting: no IMDS probe
        }
        yield CloudLab(home, state_dir, env)
    finally:
        process.stop(state_dir)
