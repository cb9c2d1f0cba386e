"""The emulator presented as an Azure cloud, for tests that run the real Azure clients against it.

`run_in_cloud(emulator, tmp_path, code)` runs `code` in a fresh Python process whose environment is
what a user of a custom cloud sets after `azure/login`: `AZUREML_CURRENT_CLOUD`,
`ARM_CLOUD_METADATA_URL` (the emulator's own metadata document), `REQUESTS_CA_BUNDLE` and
`SSL_CERT_FILE` (the emulator's CA), a stand-in `az` on PATH that answers
`az account get-access-token` with the emulator's management token, and no other Azure
credential variables (so `DefaultAzureCredential` reaches the Azure CLI). The code prints one JSON
line last; that line is returned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from rollout.emulator.constants import (
    CLOUD_METADATA_API_VERSION,
    CLOUD_METADATA_PATH,
    CLOUD_NAME,
    RESOURCE_GROUP,
    SUBSCRIPTION_ID,
    WORKSPACE,
)

STAND_IN_AZ = """\
#!{python}
import json, os, sys, time
from datetime import datetime
with open(os.environ["STAND_IN_AZ_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] != ["account", "get-access-token"]:
    print("stand-in az answers only 'account get-access-token'", file=sys.stderr)
    sys.exit(2)
expires = int(time.time()) + 3600
print(json.dumps({{
    "accessToken": open(os.environ["STAND_IN_AZ_TOKEN_FILE"]).read().strip(),
    "expiresOn": datetime.fromtimestamp(expires).strftime("%Y-%m-%d %H:%M:%S.%f"),
    "expires_on": expires,
    "subscription": "{subscription}",
    "tenant": "00000000-0000-0000-0000-000000000000",
    "tokenType": "Bearer",
}}))
"""

_DROPPED_PREFIXES = ("AZURE_", "AZUREML_", "MSI_", "IDENTITY_", "IMDS_", "MLFLOW_")


def metadata_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}{CLOUD_METADATA_PATH}?api-version={CLOUD_METADATA_API_VERSION}"


def tracking_uri(base_url: str) -> str:
    """The workspace's MLflow tracking URI as the emulator announces it (azureml://<host>/mlflow/v1.0/...)."""
    host = base_url.split("://", 1)[1].rstrip("/")
    return (
        f"azureml://{host}/mlflow/v1.0/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
    )


def cloud_env(url: str, ca_file: str, state_dir: Path, work_dir: Path) -> dict[str, str]:
    """The environment of a user of the emulator-as-cloud, with a stand-in `az` in `work_dir/bin`."""
    bin_dir = work_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    az = bin_dir / "az"
    az.write_text(STAND_IN_AZ.format(python=sys.executable, subscription=SUBSCRIPTION_ID))
    az.chmod(0o755)
    home = work_dir / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        AZUREML_CURRENT_CLOUD=CLOUD_NAME,
        ARM_CLOUD_METADATA_URL=metadata_url(url),
        REQUESTS_CA_BUNDLE=ca_file,
        SSL_CERT_FILE=ca_file,
        AZURE_TOKEN_CREDENTIALS="AzureCliCredential",  # no IMDS probe: deterministic and fast
        STAND_IN_AZ_LOG=str(work_dir / "az.log"),
        STAND_IN_AZ_TOKEN_FILE=str(state_dir / "arm-token"),
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p.endswith("src")) or env.get("PYTHONPATH", ""),
    )
    return env


def run_in_cloud(
    url: str, ca_file: str, state_dir: Path, work_dir: Path, code: str, timeout: float = 240
) -> Any:
    """Run `code` in a fresh process in the cloud environment; the JSON its last output line holds."""
    env = cloud_env(url, ca_file, state_dir, work_dir)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=work_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def az_calls(work_dir: Path) -> list[list[str]]:
    log = work_dir / "az.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
