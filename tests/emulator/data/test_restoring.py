"""Requests to a deployment that is being restored after the emulator restarted: held (within
`request_timeout_ms` and the pending-request limit) rather than refused, refused once its restore
ends without an instance; the pool's readiness and restore progress meanwhile.

A real pool and forwarder, with no instance started (the instances serving a held request are in
`tests/emulator/instances/test_instance_pool.py`): what is tested here is the waiting itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from rollout.emulator.data.forwarding import Forwarder
from rollout.emulator.environments import EnvironmentCache
from rollout.emulator.errors import RequestTimeout, ServiceUnavailable, TooManyRequests
from rollout.emulator.instances.pool import RESTORING_REASON, InstancePool, Readiness, RestoreProgress
from rollout.emulator.resources import Deployment, RequestSettings


@pytest.fixture
def pool(tmp_path) -> Iterator[InstancePool]:
    pool = InstancePool(tmp_path / "logs", tmp_path / "run", EnvironmentCache(tmp_path / "environments"))
    yield pool
    pool.close()


def _deployment(name: str, timeout_ms: int = 5000) -> Deployment:
    settings = RequestSettings(request_timeout_ms=timeout_ms, max_concurrent_requests_per_instance=1)
    return Deployment("shop", name, "azureml:m:1", "models:/m/1", request_settings=settings)


def test_a_restoring_deployment_is_starting_until_its_restore_ends(pool):
    pool.restoring("shop", "Blue")
    assert pool.is_restoring("SHOP", "blue")
    assert pool.readiness("shop", "blue") == Readiness("starting", RESTORING_REASON)
    assert pool.restore_progress() == [RestoreProgress("shop", "Blue", "starting", RESTORING_REASON, True)]

    pool.restored("shop", "blue")  # ended without instances: what a deployment without any is
    assert pool.readiness("shop", "blue") == Readiness("failed", "the deployment has no instances")
    assert [p.restoring for p in pool.restore_progress()] == [False]
    pool.stop("shop", "blue")  # deleted: no longer among the restored ones
    assert pool.restore_progress() == []


def test_a_held_request_is_answered_503_once_the_restore_ends_without_an_instance(pool):
    pool.restoring("shop", "blue")
    forwarder = Forwarder(pool)

    async def scenario() -> tuple[bool, ServiceUnavailable, float]:
        request = asyncio.create_task(forwarder.forward(_deployment("blue"), b"{}", "r-1"))
        await asyncio.sleep(0.2)
        held = not request.done()
        pool.restored("shop", "blue")
        ended = time.perf_counter()
        with pytest.raises(ServiceUnavailable) as refused:
            await request
        return held, refused.value, time.perf_counter() - ended

    held, refused, after = asyncio.run(scenario())
    assert held  # not refused while the deployment was restoring
    assert "has no ready instance (failed: the deployment has no instances)" in refused.message
    assert after < 0.2  # answered as soon as the restore ended


def test_a_held_request_times_out_with_408_after_request_timeout_ms(pool):
    pool.restoring("shop", "blue")
    forwarder = Forwarder(pool)
    started = time.perf_counter()
    with pytest.raises(RequestTimeout) as timed_out:
        asyncio.run(forwarder.forward(_deployment("blue", timeout_ms=150), b"{}", "r-1"))
    assert 0.15 <= time.perf_counter() - started < 1.0
    assert "request_timeout_ms (150 ms)" in timed_out.value.message
    assert "still starting after the emulator restarted" in timed_out.value.message


def test_held_requests_count_against_the_pending_limit(pool):
    pool.restoring("shop", "blue")
    forwarder = Forwarder(pool)
    deployment = _deployment("blue")  # 2 x 1 request per instance x 1 instance: two pending at most

    async def scenario() -> None:
        held = [asyncio.create_task(forwarder.forward(deployment, b"{}", f"r-{i}")) for i in range(2)]
        await asyncio.sleep(0.1)
        with pytest.raises(TooManyRequests):
            await forwarder.forward(deployment, b"{}", "r-3")
        assert not any(request.done() for request in held)
        pool.restored("shop", "blue")
        for request in held:
            with pytest.raises(ServiceUnavailable):
                await request

    asyncio.run(scenario())


def test_a_deployment_not_restoring_without_instances_is_refused_at_once(pool):
    started = time.perf_counter()
    with pytest.raises(ServiceUnavailable) as refused:
        asyncio.run(Forwarder(pool).forward(_deployment("green"), b"{}", "r-1"))
    assert time.perf_counter() - started < 0.1
    assert "(failed: the deployment has no instances)" in refused.value.message
