"""Helpers of the data-plane and instance tests: the chaos test model, request bodies, an HTTPS client."""

from __future__ import annotations

import re
import ssl
import tempfile
from pathlib import Path

import httpx

CHAOS_MODEL = "chaos-model"
CHAOS_CODE = Path(__file__).resolve().parent / "models" / "chaos.py"


def register_chaos_model(registry_uri: str, artifacts_dir: Path) -> int:
    """Register the chaos model in the registry once; its version."""
    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import infer_signature

    from rollout import registry

    client = registry.client(registry_uri)
    existing = client.search_model_versions(f"name='{CHAOS_MODEL}'")
    if existing:
        return int(existing[0].version)
    signature = infer_signature(pd.DataFrame({"action": ["ok"], "seconds": [0.0]}), ["blue"])
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = Path(scratch) / "model"
        mlflow.pyfunc.save_model(
            model_dir, python_model=str(CHAOS_CODE), signature=signature, pip_requirements=["mlflow"]
        )
        return registry.register_model(client, CHAOS_MODEL, model_dir, artifacts_dir=artifacts_dir)


def chaos_body(action: str = "ok", seconds: float = 0.0, rows: int = 1) -> dict:
    """A scoring request for the chaos model."""
    return {"input_data": {"columns": ["action", "seconds"], "data": [[action, seconds]] * rows}}


def https_client(ca_file: str, **options: object) -> httpx.Client:
    """An HTTPS client that trusts the emulator's CA."""
    return httpx.Client(verify=ssl.create_default_context(cafile=ca_file), timeout=30.0, **options)


def instance_pid(logs: str) -> int:
    """The pid of the newest instance named in a deployment's logs."""
    pids = re.findall(r"\(pid (\d+)\) listening", logs)
    assert pids, f"no instance start in the logs:\n{logs}"
    return int(pids[-1])
