"""Starting what the scoring benchmark measures: the emulator with its endpoints, and
`mlflow models serve`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import answers, wait_ready
from benchmarks.scoring.subjects import CLIENTS, ENDPOINT, SPLIT_ENDPOINT
from rollout.emulator.host.process import free_port

if TYPE_CHECKING:
    from azure.ai.ml.entities import ManagedOnlineDeployment


@dataclass
class Emulator:
    state_dir: Path
    url: str
    port: int
    ca_file: str
    ml_client: Any  # azure.ai.ml.MLClient


@contextmanager
def emulator(root: Path, registry_uri: str) -> Iterator[Emulator]:
    from rollout.azureml.local_target import LocalTarget
    from rollout.emulator.host import process

    state_dir = root / "emulator"
    status, _ = process.start(state_dir, registry_uri)
    try:
        yield Emulator(state_dir, status.url, status.port, status.ca_file, LocalTarget(state_dir).ml_client())
    finally:
        process.stop(state_dir)


def _deployment(endpoint: str, name: str, model: str, workers: int = 1) -> ManagedOnlineDeployment:
    from azure.ai.ml.entities import ManagedOnlineDeployment, OnlineRequestSettings, ProbeSettings

    probe = ProbeSettings(initial_delay=1, period=1, timeout=2, failure_threshold=60)
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=model,
        instance_type="Standard_DS3_v2",
        instance_count=1,
        environment_variables={"WORKER_COUNT": str(workers)} if workers > 1 else {},
        request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=CLIENTS),
        readiness_probe=probe,
        liveness_probe=probe,
    )


def deploy(emu: Emulator, model: str) -> dict[str, str]:
    """Endpoints `bench` (`one`: 100%, `two`: WORKER_COUNT=2, 0%) and `bench-split` (blue 90%,
    green 10%, shadow mirrored 10%); their keys."""
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    ml = emu.ml_client
    plans = {
        ENDPOINT: (
            [_deployment(ENDPOINT, "one", model), _deployment(ENDPOINT, "two", model, workers=2)],
            {"one": 100},
            {},
        ),
        SPLIT_ENDPOINT: (
            [_deployment(SPLIT_ENDPOINT, name, model) for name in ("blue", "green", "shadow")],
            {"blue": 90, "green": 10},
            {"shadow": 10},
        ),
    }
    for name in plans:
        ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name, auth_mode="key")).result()
    pollers = [
        ml.online_deployments.begin_create_or_update(deployment)
        for deployments, _, _ in plans.values()
        for deployment in deployments
    ]
    for poller in pollers:
        poller.result()
    keys = {}
    for name, (_, traffic, mirror) in plans.items():
        endpoint = ml.online_endpoints.get(name)
        endpoint.traffic, endpoint.mirror_traffic = traffic, mirror
        ml.online_endpoints.begin_create_or_update(endpoint).result()
        keys[name] = ml.online_endpoints.get_keys(name).primary_key
    return keys


def instance_port(emu: Emulator, deployment: str) -> int:
    """The loopback port of a deployment's instance, from its log."""
    logs = emu.ml_client.online_deployments.get_logs(deployment, ENDPOINT, lines=200)
    ports = re.findall(r"listening on http://127\.0\.0\.1:(\d+)", logs)
    if not ports:
        raise SystemExit(f"error: no instance port in the logs of {deployment}:\n{logs}")
    return int(ports[-1])


@contextmanager
def mlflow_serve(model_uri: str, registry_uri: str, log_dir: Path, workers: int) -> Iterator[int]:
    """`mlflow models serve --workers N`; its port (`wait_for_ping` waits until it answers)."""
    port = free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=registry_uri, MLFLOW_REGISTRY_URI=registry_uri)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
    command += ["-h", "127.0.0.1", "-p", str(port), "--workers", str(workers)]
    log_path = log_dir / f"mlflow-serve-{workers}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        yield port
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def wait_for_ping(port: int) -> None:
    wait_ready(lambda: answers(f"http://127.0.0.1:{port}/ping"))
