"""The instance pool on its own: Azure's inference server in each model's environment, forked
from that environment's ready process, real probes.

These drive `InstancePool` directly (no HTTPS server): start-up time, scoring on an instance,
restarts of a killed or unresponsive instance, failures with their reasons, replacement of a
deployment's instances, logs and their cap, and that nothing is left running. Two environments
serve them (the demo model's and the chaos model's), from the run's shared environment cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chaos_support import CHAOS_MODEL, chaos_body, register_chaos_model
from rollout.emulator.control.model_registry import ModelRegistry
from rollout.emulator.data.forwarding import Forwarder, Reply
from rollout.emulator.environments import EnvironmentCache
from rollout.emulator.errors import ServiceUnavailable
from rollout.emulator.instances.pool import InstancePool, Readiness
from rollout.emulator.resources import Deployment, Probe, parse_model_reference

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "sample.json"
FAST = Probe(initial_delay=0, period=1, timeout=2, failure_threshold=30)
PRELOAD_TIMEOUT_S = 180.0  # an environment's first build and its ready process's first imports


@pytest.fixture(scope="module")
def chaos_uri(emulator_registry) -> str:
    version = register_chaos_model(emulator_registry.uri, emulator_registry.artifacts_dir)
    return f"models:/{CHAOS_MODEL}/{version}"


class Pool(InstancePool):
    """The pool, provisioning deployments by model URI as the emulator does: the model's files from
    the registry, its environment (from the run's shared cache), then the instances."""

    def __init__(self, root: Path, registry: ModelRegistry) -> None:
        super().__init__(root / "logs", root / "run", EnvironmentCache(), stop_grace=2.0)
        self.registry = registry

    def files(self, model_uri: str) -> Path:
        found = self.registry.get_version(*parse_model_reference(model_uri))
        assert found is not None, model_uri
        return self.registry.local_files(found)

    def provision(self, deployment: Deployment) -> None:
        self.start(deployment, self.prepare(deployment, self.files(deployment.model_uri)))


@pytest.fixture(scope="module")
def pool(tmp_path_factory, emulator_registry, registered_models, chaos_uri) -> Iterator[Pool]:
    pool = Pool(tmp_path_factory.mktemp("pool"), ModelRegistry(emulator_registry.uri))
    with pytest.MonkeyPatch.context() as patch:  # as in many containers: the ready processes write it anyway
        patch.setenv("PYTHONDONTWRITEBYTECODE", "1")
        for model_uri in (chaos_uri, f"models:/{registered_models.heart}/1"):  # both ready processes, warm
            runtime = pool.prepare(_deployment("warm-up", model_uri), pool.files(model_uri))
            assert pool.ready_process(runtime.environment).wait_ready(PRELOAD_TIMEOUT_S)
    yield pool
    pool.close()


def _deployment(name: str, model_uri: str, **overrides) -> Deployment:
    settings = {"readiness_probe": FAST, "liveness_probe": FAST, **overrides}
    return Deployment(endpoint="pool-tests", name=name, model=model_uri, model_uri=model_uri, **settings)


def _wait(pool: InstancePool, name: str, timeout: float = 30.0) -> Readiness:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        readiness = pool.readiness("pool-tests", name)
        if readiness.state != "starting":
            return readiness
        time.sleep(0.01)
    raise AssertionError(f"{name} still starting after {timeout} s: {pool.readiness('pool-tests', name)}")


def _wait_for(condition, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _score(pool: InstancePool, name: str, body: dict) -> httpx.Response:
    instance = pool.ready_instances("pool-tests", name)[0]
    return httpx.post(f"{instance.url}/score", json=body, timeout=10)


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_heart_classifier_instance_is_ready_within_two_seconds_of_a_cached_environment(
    pool, registered_models
):
    deployment = _deployment("heart", f"models:/{registered_models.heart}/1")
    started = time.perf_counter()
    runtime = pool.prepare(deployment, pool.files(deployment.model_uri))
    prepared = time.perf_counter() - started
    assert runtime.environment.cached
    pool.start(deployment, runtime)
    returned = time.perf_counter() - started - prepared
    assert _wait(pool, "heart") == Readiness("ready")
    ready_after = time.perf_counter() - started
    print(
        f"prepare() (cached environment) {prepared * 1000:.0f} ms, start() returned in "
        f"{returned * 1000:.1f} ms; ready after {ready_after * 1000:.0f} ms"
    )
    assert returned < 0.05  # start() never blocks
    assert ready_after < 2.0

    response = _score(pool, "heart", json.loads(SAMPLE.read_text()))
    assert response.status_code == 200
    assert response.json() in ([0], [1])
    assert response.headers["x-ms-server-version"].startswith("azmlinfsrv/")
    logs = pool.logs("pool-tests", "heart")
    assert "Users's init has completed successfully" in logs and "POST /score 200" in logs
    assert "scikit-learn==1.9.1" in logs  # the environment's packages, as the instance started
    # its ready process kept the bytecode of what it imported: the next one, in another emulator, loads it
    assert list(runtime.environment.path.glob("lib/python3*/site-packages/mlflow/__pycache__/*.pyc"))


def test_readiness_waits_for_the_initial_delay(pool, chaos_uri):
    started = time.perf_counter()
    pool.provision(_deployment("delayed", chaos_uri, readiness_probe=Probe(initial_delay=1, period=1)))
    assert pool.readiness("pool-tests", "delayed").state == "starting"
    assert _wait(pool, "delayed").state == "ready"
    assert 1.0 <= time.perf_counter() - started < 4.0
    pool.stop("pool-tests", "delayed")


def test_a_killed_instance_is_restarted_and_serves_again(pool, chaos_uri):
    pool.provision(_deployment("killed", chaos_uri, environment_variables={"SLOT": "killed"}))
    assert _wait(pool, "killed").state == "ready"
    old = pool.ready_instances("pool-tests", "killed")[0].pid
    os.kill(old, signal.SIGKILL)
    _wait_for(
        lambda: any(i.pid != old for i in pool.ready_instances("pool-tests", "killed")),
        what="a new ready instance",
    )
    assert _score(pool, "killed", chaos_body()).json() == ["killed"]
    logs = pool.logs("pool-tests", "killed")
    assert "killed by signal SIGKILL; restarting the instance" in logs
    assert logs.count("listening on http://127.0.0.1:") == 2
    assert "chaos model scoring 1 row(s)" in logs  # the model's own output


def test_an_unresponsive_instance_fails_its_liveness_probe_and_is_restarted(pool, chaos_uri):
    liveness = Probe(initial_delay=0, period=1, timeout=1, failure_threshold=2)
    pool.provision(_deployment("frozen", chaos_uri, liveness_probe=liveness))
    assert _wait(pool, "frozen").state == "ready"
    frozen = pool.ready_instances("pool-tests", "frozen")[0].pid
    os.killpg(frozen, signal.SIGSTOP)  # the server and its workers
    try:
        _wait_for(
            lambda: any(i.pid != frozen for i in pool.ready_instances("pool-tests", "frozen")),
            timeout=20,
            what="the unresponsive instance to be replaced",
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(frozen, signal.SIGCONT)
    _wait_for(lambda: not _alive(frozen), what="the frozen process to be gone")
    assert "liveness probe failed 2 times" in pool.logs("pool-tests", "frozen")
    assert _score(pool, "frozen", chaos_body()).status_code == 200
    pool.stop("pool-tests", "frozen")


def test_a_model_that_cannot_load_fails_with_the_reason_in_the_logs(pool, registered_models):
    broken = f"models:/{registered_models.broken}/{registered_models.broken_version}"
    pool.provision(_deployment("broken", broken))
    readiness = _wait(pool, "broken")
    assert readiness.state == "failed"
    assert "the scoring script failed to start" in readiness.reason
    assert "No module named 'rollout_test_missing_loader_module'" in readiness.reason
    logs = pool.logs("pool-tests", "broken")
    assert "Traceback (most recent call last)" in logs
    assert "User's init function failed" in logs  # azmlinfsrv's own words
    assert "deployment failed: the scoring script failed to start" in logs
    assert pool.ready_instances("pool-tests", "broken") == ()


def test_failing_readiness_probes_fail_the_deployment(pool, chaos_uri):
    readiness = Probe(initial_delay=0, period=1, timeout=1, failure_threshold=2)
    pool.provision(
        _deployment(
            "slow-load",
            chaos_uri,
            readiness_probe=readiness,
            environment_variables={"CHAOS_LOAD_SECONDS": "30"},
        )
    )
    result = _wait(pool, "slow-load", timeout=10)
    assert result.state == "failed"
    assert "readiness probe failed 2 times (GET / failed: timed out)" in result.reason


def test_new_instances_replace_the_old_ones_once_ready(pool, chaos_uri):
    pool.provision(_deployment("rolling", chaos_uri, environment_variables={"SLOT": "old"}))
    assert _wait(pool, "rolling").state == "ready"
    old = pool.ready_instances("pool-tests", "rolling")[0].pid

    new = {"SLOT": "new", "CHAOS_LOAD_SECONDS": "1"}
    pool.provision(_deployment("rolling", chaos_uri, instance_count=2, environment_variables=new))
    assert pool.readiness("pool-tests", "rolling").state == "starting"
    assert [i.pid for i in pool.ready_instances("pool-tests", "rolling")] == [old]
    assert _score(pool, "rolling", chaos_body()).json() == ["old"]  # still served meanwhile

    assert _wait(pool, "rolling").state == "ready"
    instances = pool.ready_instances("pool-tests", "rolling")
    assert len(instances) == 2 and old not in {i.pid for i in instances}
    assert _score(pool, "rolling", chaos_body()).json() == ["new"]
    _wait_for(lambda: not _alive(old), what="the old instance to stop")
    logs = pool.logs("pool-tests", "rolling")
    assert "===== inference-server-" in logs  # one section per instance
    pool.stop("pool-tests", "rolling")


def test_notes_show_in_both_logs(pool, chaos_uri):
    pool.note("pool-tests", "noted", "Model azureml:x:1 was not found.")
    assert "[platform] Model azureml:x:1 was not found." in pool.logs("pool-tests", "noted")
    pool.provision(_deployment("noted", chaos_uri))
    assert _wait(pool, "noted").state == "ready"
    pool.note("pool-tests", "noted", "Something the platform did.")
    assert "[platform] Something the platform did." in pool.logs("pool-tests", "noted", lines=5)
    notes = pool.logs("pool-tests", "noted", container_type="storage-initializer")
    assert "Model azureml:x:1 was not found." in notes and "Something the platform did." in notes
    assert pool.logs("pool-tests", "noted", lines=2).count("\n") == 1
    pool.stop("pool-tests", "noted")


def test_instance_logs_are_capped(pool, chaos_uri):
    pool.provision(_deployment("chatty", chaos_uri))
    assert _wait(pool, "chatty").state == "ready"
    instance = pool.ready_instances("pool-tests", "chatty")[0]
    log = next(Path(pool.log_dir, "pool-tests", "chatty").glob("inference-server-*.log"))
    pool.log_cap = 4000
    try:
        with httpx.Client(base_url=instance.url) as client:
            for _ in range(100):
                assert client.post("/score", json=chaos_body()).status_code == 200
        _wait_for(lambda: log.with_name(log.name + ".1").exists(), what="the log to be rotated")
        _wait_for(lambda: log.stat().st_size < 4000, what="the log to be truncated")
    finally:
        pool.log_cap = 5 * 1024 * 1024
    assert "POST /score 200" in pool.logs("pool-tests", "chatty", lines=3)
    pool.stop("pool-tests", "chatty")


def _worker_pids(logs: str) -> list[int]:
    """The server's workers that have run the scoring script's init(), in order (its own log lines)."""
    return [int(pid) for pid in re.findall(r"Worker with pid (\d+) ready for serving traffic", logs)]


def test_worker_count_workers_serve_and_are_replaced_by_the_server(pool, chaos_uri):
    pool.provision(_deployment("workers", chaos_uri, environment_variables={"WORKER_COUNT": "3"}))
    assert _wait(pool, "workers").state == "ready"
    instance = pool.ready_instances("pool-tests", "workers")[0].pid
    _wait_for(lambda: len(_worker_pids(pool.logs("pool-tests", "workers"))) == 3, what="three workers")
    workers = _worker_pids(pool.logs("pool-tests", "workers"))
    assert all(_alive(pid) for pid in workers)
    assert _score(pool, "workers", chaos_body()).status_code == 200

    os.kill(workers[0], signal.SIGKILL)  # gunicorn boots another; the instance goes on
    _wait_for(lambda: len(_worker_pids(pool.logs("pool-tests", "workers"))) == 4, what="a new worker")
    assert [i.pid for i in pool.ready_instances("pool-tests", "workers")] == [instance]
    assert _score(pool, "workers", chaos_body()).status_code == 200

    workers = _worker_pids(pool.logs("pool-tests", "workers"))[1:]
    pool.stop("pool-tests", "workers")
    _wait_for(lambda: not any(_alive(pid) for pid in [instance, *workers]), what="stopped workers to exit")


def test_a_server_that_cannot_start_fails_the_deployment_with_its_error(pool, chaos_uri):
    pool.provision(_deployment("many-workers", chaos_uri, environment_variables={"WORKER_COUNT": "many"}))
    readiness = _wait(pool, "many-workers")
    assert readiness.state == "failed"
    assert "the inference server did not start (the instance exited with code 1)" in readiness.reason
    assert "invalid literal for int() with base 10: 'many'" in readiness.reason


def test_requests_to_a_restoring_deployment_wait_for_its_instances(pool, chaos_uri):
    """After a restart, a deployment's requests are held until its instances are ready (200), or
    refused with the failed instance's reason (503) when they fail."""
    good = _deployment("restoring", chaos_uri, environment_variables={"SLOT": "restoring"})
    bad = _deployment("restoring-bad", chaos_uri, environment_variables={"WORKER_COUNT": "many"})
    for deployment in (good, bad):
        pool.restoring("pool-tests", deployment.name)
    forwarder = Forwarder(pool)

    async def scenario() -> tuple[bool, Reply, ServiceUnavailable]:
        body = json.dumps(chaos_body()).encode()
        requests = [asyncio.create_task(forwarder.forward(d, body, "r-1")) for d in (good, bad)]
        await asyncio.sleep(0.1)
        held = not any(request.done() for request in requests)
        for deployment in (good, bad):  # as provisioning restarts them
            await asyncio.to_thread(pool.provision, deployment)
        reply = await requests[0]
        with pytest.raises(ServiceUnavailable) as refused:
            await requests[1]
        await forwarder.aclose()
        return held, reply, refused.value

    held, reply, refused = asyncio.run(scenario())
    assert held
    assert (reply.status, json.loads(reply.content)) == (200, ["restoring"])
    assert "has no ready instance (failed: the inference server did not start" in refused.message
    progress = {p.name: (p.state, p.restoring) for p in pool.restore_progress()}
    assert progress == {"restoring": ("ready", True), "restoring-bad": ("failed", True)}
    for deployment in (good, bad):
        pool.restored("pool-tests", deployment.name)
        pool.stop("pool-tests", deployment.name)
    assert pool.restore_progress() == []


def test_stop_and_close_leave_no_process_behind(pool, chaos_uri):
    pool.provision(_deployment("last", chaos_uri, instance_count=2))
    assert _wait(pool, "last").state == "ready"
    pids = [i.pid for i in pool.ready_instances("pool-tests", "last")]
    pool.stop("pool-tests", "last")
    assert pool.ready_instances("pool-tests", "last") == ()
    assert pool.readiness("pool-tests", "last").state == "failed"
    _wait_for(lambda: not any(_alive(pid) for pid in pids), what="stopped instances to exit")

    pool.provision(_deployment("last", chaos_uri))
    assert _wait(pool, "last").state == "ready"
    running = [i.pid for i in pool.ready_instances("pool-tests", "heart")]
    running += [i.pid for i in pool.ready_instances("pool-tests", "last")]
    ready_processes = [ready.pid for ready in pool.ready_processes()]
    assert len(ready_processes) == 2  # one per environment: the demo model's, the chaos model's
    started = time.perf_counter()
    pool.close()  # the fixture's close afterwards is a no-op
    assert time.perf_counter() - started < 10
    assert not any(_alive(pid) for pid in ready_processes if pid is not None)
    _wait_for(lambda: not any(_alive(pid) for pid in running), timeout=5, what="every instance to exit")
