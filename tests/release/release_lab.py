"""The release lab: a private registry with the demo model's versions and faulty ones, an emulator,
and project copies with an endpoint of each test's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from rollout.azureml.connection import Connection
from rollout.azureml.local_target import LocalTarget
from rollout.release.steps import Release

REPO = Path(__file__).resolve().parents[2]
MODEL = "heart-classifier"
FAULTY_MODEL_CODE = Path(__file__).parent / "models" / "faulty_model.py"
# versions registered in the lab's registry, in this order
VERSIONS = {"v1": 1, "v2": 2, "v3": 3, "broken": 4, "flaky": 5, "slow": 6}
FAST_PLAN = {
    "stages": [
        {"name": "canary", "traffic": 10, "bake": "3s", "environment": "canary"},
        {"name": "half", "traffic": 50, "bake": "3s", "environment": "production-half"},
        {"name": "full", "traffic": 100, "bake": "2s", "environment": "production"},
    ],
    "analysis": {
        "min_requests": 20,
        "max_error_rate": 0.01,
        "confidence": 0.95,
        "max_p95_latency_ms": 500,
        # p95 over a 3 s bake is a few dozen requests on 2 shared cores: a loaded machine alone moves
        # it by 1.6x; the slow candidate (0.3 s a request) is still 30 times slower than live
        "max_latency_ratio": 3.0,
        "min_agreement": 0.9,
    },
}


@dataclass(frozen=True)
class Lab:
    home: Path
    registry_uri: str

    @property
    def state_dir(self) -> Path:
        return self.home / "emulator"

    def connection(self) -> Connection:
        return Connection(LocalTarget(self.state_dir, start=True, registry_uri=self.registry_uri))

    def env(self) -> dict[str, str]:
        """Environment for `rollout` commands run as processes against this lab."""
        env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "GITHUB_OUTPUT")}
        return {**env, "ROLLOUT_HOME": str(self.home)}

    def rollout(self, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rollout", *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def register_faulty(registry_uri: str, artifacts_dir: Path, mode: str, delay_s: float = 0.3) -> int:
    import mlflow
    import mlflow.pyfunc

    from rollout import registry

    client = registry.client(registry_uri)
    inner_source = client.get_model_version_download_uri(MODEL, "1")
    with tempfile.TemporaryDirectory(prefix="faulty-") as scratch:
        inner = mlflow.artifacts.download_artifacts(
            inner_source, dst_path=f"{scratch}/inner", tracking_uri=registry_uri
        )
        inner_model = mlflow.models.Model.load(f"{inner}/MLmodel")
        signature = inner_model.signature
        path = Path(scratch) / "model"
        mlflow.pyfunc.save_model(
            path,
            python_model=str(FAULTY_MODEL_CODE),
            artifacts={"inner": inner},
            model_config={"mode": mode, "delay_s": delay_s},
            signature=signature,
            metadata=inner_model.metadata,  # the categories: a faulty version validates as the real one
            pip_requirements=["mlflow"],
        )
        return registry.register_model(client, MODEL, path, artifacts_dir=artifacts_dir)


def make_project(root: Path, endpoint: str, plan: dict | None = None) -> Path:
    """A copy of the shipped project whose endpoint is `endpoint`, with plan overrides."""
    shutil.copytree(REPO / "samples", root / "samples")
    shutil.copytree(REPO / "endpoints", root / "endpoints")
    shutil.copytree(REPO / "deployments", root / "deployments")
    endpoint_file = root / "endpoints" / "heart-classifier.yml"
    spec = yaml.safe_load(endpoint_file.read_text())
    spec["name"] = endpoint
    endpoint_file.write_text(yaml.safe_dump(spec))
    for slot in ("blue", "green"):
        path = root / "deployments" / f"{slot}.yml"
        spec = yaml.safe_load(path.read_text())
        spec["endpoint_name"] = endpoint
        # Room for the probe and user load while other tests share the runner's two cores: queued
        # requests are then slow rather than refused (429), and latency is what analysis judges.
        spec["request_settings"]["max_concurrent_requests_per_instance"] = 16
        path.write_text(yaml.safe_dump(spec))
    plan_file = root / "deployments" / "release.yml"
    release_plan = yaml.safe_load(plan_file.read_text())
    release_plan.update(plan or FAST_PLAN)
    plan_file.write_text(yaml.safe_dump(release_plan, sort_keys=False))
    return root


@contextmanager
def user_traffic(rel: Release) -> Iterator[list[tuple[int, str | None]]]:
    """Requests a user keeps sending to the endpoint (no deployment header) while a block runs."""
    replies: list[tuple[int, str | None]] = []
    stop = threading.Event()
    request = {
        "input_data": {
            "columns": [
                "age",
                "sex",
                "cp",
                "trestbps",
                "chol",
                "fbs",
                "restecg",
                "thalach",
                "exang",
                "oldpeak",
                "slope",
                "ca",
                "thal",
            ],
            "data": [[48, 0, 3, 130, 275, 0, 0, 139, 0, 0.2, 1, 0, "normal"]],
        }
    }

    def run() -> None:
        with rel.conn.scoring(rel.endpoint_name) as client:
            while not stop.is_set():
                reply = client.score(request)
                replies.append((reply.status, reply.deployment))
                stop.wait(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield replies
    finally:
        stop.set()
        thread.join(timeout=30)
