"""Ready processes started ahead of their deployments: the pool warms the environments it is given
(a real ready process each, in the environment's own Python), a deployment claims its environment's
one, one nobody claims stops after its idle time, and a starting emulator warms the cached
environments used most recently, within its bound and nothing else.

The environments here are real but empty virtual environments (a ready process in one imports
nothing, so it is ready at once): what is under test is which ready processes run, not the imports.
"""

from __future__ import annotations

import json
import os
import time
import venv
from pathlib import Path

from starlette.testclient import TestClient

from rollout.emulator.environments import BuiltEnvironment, EnvironmentCache
from rollout.emulator.environments.cache import FORMAT, LAST_USED_NAME, MANIFEST_NAME
from rollout.emulator.host.app import create_app
from rollout.emulator.host.config import ServerConfig
from rollout.emulator.instances.pool import InstancePool

READY_TIMEOUT_S = 30.0


def cache_of(root: Path, *keys: str) -> EnvironmentCache:
    """A cache at `root` holding an empty environment per key, each used after the one before it."""
    for order, key in enumerate(keys):
        path = root / key
        venv.create(path, with_pip=False, symlinks=True)
        (path / MANIFEST_NAME).write_text(json.dumps({"format": FORMAT, "key": key, "resolved": []}))
        (path / LAST_USED_NAME).touch()
        os.utime(path / LAST_USED_NAME, (1_000_000 + order, 1_000_000 + order))
    return EnvironmentCache(root, interpreters=[])


def environment(cache: EnvironmentCache, key: str) -> BuiltEnvironment:
    found = cache.find(key)
    assert found is not None
    return found


def alive(pid: int | None) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(condition, what: str, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_fresh_pool_warms_the_most_recent_environments_and_a_deployment_claims_one(tmp_path):
    cache = cache_of(tmp_path / "environments", "oldest", "older", "newest")
    pool = InstancePool(tmp_path / "logs", tmp_path / "run", cache)
    try:
        assert pool.warm_recent(0) == [] and pool.ready_environments() == frozenset()
        assert pool.warm_recent(2) == ["newest", "older"]
        assert pool.ready_environments() == pool.unclaimed_environments() == {"newest", "older"}
        warmed = {ready.launch.cwd.name: ready for ready in pool.ready_processes()}
        for ready in warmed.values():
            assert ready.wait_ready(READY_TIMEOUT_S) and alive(ready.pid)
            assert ready.launch.python == tmp_path / "environments" / ready.launch.cwd.name / "bin" / "python"
        assert pool.warm(cache.recent(3)) == ["oldest"]  # the others run already: the same processes

        claimed = pool.ready_process(environment(cache, "newest"))  # what a deployment's start does
        assert claimed is warmed["newest"] and alive(claimed.pid)
        assert pool.unclaimed_environments() == {"older", "oldest"}
        assert pool.ready_environments() == {"newest", "older", "oldest"}
    finally:
        pool.close()
    assert not any(alive(ready.pid) for ready in warmed.values())


def test_a_warmed_ready_process_no_deployment_claims_stops_after_its_idle_time(tmp_path):
    cache = cache_of(tmp_path / "environments", "unused", "used")
    pool = InstancePool(tmp_path / "logs", tmp_path / "run", cache, warm_idle=1.0)
    try:
        pool.warm(cache.recent(2))
        warmed = {ready.launch.cwd.name: ready for ready in pool.ready_processes()}
        assert pool.ready_process(environment(cache, "used")) is warmed["used"]
        wait_for(lambda: pool.ready_environments() == {"used"}, "the unclaimed ready process to stop")
        wait_for(lambda: not alive(warmed["unused"].pid), "the unclaimed ready process to exit")
        time.sleep(1.0)  # past the idle time again: the claimed one stays
        assert alive(warmed["used"].pid) and pool.unclaimed_environments() == frozenset()
    finally:
        pool.close()


def test_a_starting_emulator_warms_its_cached_environments_within_its_bound(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLLOUT_ENVIRONMENTS_DIR", str(tmp_path / "environments"))
    cache_of(tmp_path / "environments", "first", "second", "third")

    def warmed_by_an_emulator(name: str, bound: int) -> set[str]:
        state_dir = tmp_path / name
        config = ServerConfig(
            state_dir=state_dir,
            registry_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            port=1,
            warm_environments=bound,
        )
        logs = state_dir / "logs"
        with TestClient(create_app(config)) as client:
            assert client.get("/healthz").status_code == 200
            if bound:
                wait_for(
                    lambda: len(list(logs.glob("ready-process-*.log"))) >= bound, "the warmed ready processes"
                )
            time.sleep(0.3)  # no further one comes
            started = {path.stem.removeprefix("ready-process-") for path in logs.glob("ready-process-*.log")}
        return started

    assert warmed_by_an_emulator("bound-two", 2) == {"third", "second"}
    assert warmed_by_an_emulator("bound-none", 0) == set()
