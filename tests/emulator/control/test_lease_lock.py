"""The release lock as a blob lease (`rollout.azureml.lease_lock`) through the local target: the
default datastore's container, the management token as the bearer, azure-storage-blob's
`BlobLeaseClient` against the emulator's blob service."""

from __future__ import annotations

import time

import pytest

from rollout.azureml.lease_lock import LeaseLock, LockPlace, lock_blob
from rollout.azureml.local_target import LocalTarget
from rollout.core.errors import UserError


@pytest.fixture
def lock_of(emulator, unique_name):
    """`lock_of(name)`: a handle on this test's endpoint lock, held by `name` (a fresh lease id each)."""
    target = LocalTarget(emulator.state_dir)
    endpoint = unique_name("lease")
    blob = lock_blob(target, target.ml_client(), endpoint, LockPlace())

    def lock(name: str) -> LeaseLock:
        return LeaseLock(blob, endpoint, name)

    return lock


def test_the_lock_lives_in_the_default_datastores_container(emulator, unique_name):
    target = LocalTarget(emulator.state_dir)
    lock = LeaseLock.open(target, "my-endpoint", doing="stage S")
    assert (lock.blob.container_name, lock.blob.blob_name) == ("azureml", "locks/my-endpoint.lock")
    assert lock.blob.url.startswith(f"{emulator.url}/rolloutemulator.blob.core.windows.net/azureml/")
    assert lock.holder() is None  # no blob yet: free


def test_a_held_lock_refuses_another_holder_naming_the_holder(lock_of):
    first, second = lock_of("stage S of run 7"), lock_of("stage T of run 8")
    first.acquire(30)
    first.acquire(30)  # again by its holder: still its own
    with pytest.raises(UserError) as refused:
        second.acquire(30)
    line = str(refused.value)
    assert "\n" not in line
    assert line.startswith(
        f"the release lock of endpoint {first.endpoint} is held by stage S of run 7 until 20"
    )
    assert line.endswith("; `--force-lock` takes it over")
    first.renew()
    assert first.holder() is not None and first.holder().name == "stage S of run 7"
    first.release()
    assert first.holder() is None
    second.acquire(15)
    assert second.holder().name == "stage T of run 8"
    second.release()


def test_a_takeover_fences_the_old_holder(lock_of):
    stage, rollback = lock_of("stage S"), lock_of("rollback R")
    stage.acquire(60)
    rollback.take_over(30)
    assert rollback.holder().name == "rollback R"
    for lost in (stage.renew, stage.release):
        with pytest.raises(UserError, match=r"was taken over by rollback R: this release no longer holds it"):
            lost()
    assert rollback.holder().name == "rollback R"  # the old holder's metadata write was refused too
    rollback.renew()
    rollback.release()
    rollback.take_over(15)  # a takeover of a free lock is an acquire
    rollback.release()


def test_break_now_frees_the_lock_and_the_broken_holder_cannot_renew(lock_of):
    holder, breaker = lock_of("stage S"), lock_of("operator")
    breaker.break_now()  # nothing to break: fine
    holder.acquire(60)
    breaker.break_now()
    assert holder.holder() is None
    with pytest.raises(UserError, match="was broken or taken over: this release no longer holds it"):
        holder.renew()
    with pytest.raises(UserError, match=r"lasts 15 to 60 s, not 90"):
        breaker.acquire(90)


@pytest.mark.slow
def test_a_dead_holders_lease_expires_by_itself(lock_of):
    dead, next_release = lock_of("a killed stage"), lock_of("the next release")
    dead.acquire(15)  # and never renews
    with pytest.raises(UserError, match="held by a killed stage"):
        next_release.acquire(15)
    time.sleep(15.5)
    assert dead.holder() is None
    next_release.acquire(15)
    assert next_release.holder().name == "the next release"
    with pytest.raises(UserError, match="taken over by the next release"):
        dead.renew()
    next_release.release()
