"""What the benchmarks share: the sample request, the demo model, waiting for a server to answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from rollout.core.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILE = ROOT / "samples" / "sample.json"
READY_TIMEOUT_SECONDS = 120.0


def sample() -> dict[str, Any]:
    """samples/sample.json's `input_data`: a `dataframe_split` of one row."""
    data: dict[str, Any] = json.loads(SAMPLE_FILE.read_text())["input_data"]
    return data


def wait_ready(check: Callable[[], bool], timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Ask `check` until it answers true; past `timeout`, end the benchmark with an error."""
    if not wait_until(check, timeout, interval=0.01):
        raise SystemExit(f"error: not ready within {timeout:.0f} s")


def answers(url: str) -> bool:
    """Whether a GET of `url` answers 200."""
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def train_demo_model(root: Path) -> tuple[str, str]:
    """The demo heart classifier, trained into a registry under `root`: its URI and the model's."""
    from rollout import registry
    from rollout.demo_model.training import train_and_register

    registry.quiet_logs()
    registry_uri = f"sqlite:///{root / 'mlflow.db'}"
    registered = train_and_register(
        "heart-classifier", variant=1, seed=0, tracking_uri=registry_uri, artifacts_dir=root / "artifacts"
    )
    return registry_uri, f"models:/heart-classifier/{registered.version}"


def demo_model(root: Path, registry_uri: str | None, model: str) -> tuple[str, str]:
    """The registry and the model to serve: `model` (NAME/VERSION) in `registry_uri`, or without
    one the demo heart classifier, trained into a registry under `root`."""
    if registry_uri:
        return registry_uri, f"models:/{model}"
    print("training the demo heart classifier into a temporary registry ...", flush=True)
    return train_demo_model(root)
