"""Blob leases on the emulator's blob service, driven by azure-storage-blob's own `BlobClient` and
`BlobLeaseClient` (as the release lock will be): acquire, renew, change, release, break (at once
and after a period), each refusal as the `HttpResponseError` Azure Storage's code and status make,
writes and deletes with and without the lease, clients racing for one lease, and an Entra ID bearer
token in place of the SAS."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, BlobLeaseClient, BlobServiceClient

from chaos_support import https_client
from races import race
from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX
from rollout.emulator.control.artifact_store import BLOB_CONTAINER, ArtifactStore


@pytest.fixture
def blob_url(emulator, tmp_path):
    """`blob_url(permissions, name)`: the URL of this test's blob (or of `name`) with a SAS the
    emulator signs (its own scheme)."""
    store = ArtifactStore(tmp_path, emulator.management_token, emulator.url)
    folder = f"locks/{uuid.uuid4().hex[:8]}"

    def url(permissions: str = "rwd", name: str = "release.lock") -> str:
        return store.blob_url(BLOB_CONTAINER, f"{folder}/{name}", permissions)

    return url


@pytest.fixture
def blob(emulator, blob_url) -> BlobClient:
    """An existing blob (the lock's) behind a SAS granting read, write and delete."""
    client = BlobClient.from_blob_url(blob_url(), connection_verify=emulator.ca_file)
    client.upload_blob(b"free")
    return client


def refused(call, status: int, code: str) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as raised:
        call()
    assert (raised.value.status_code, raised.value.error_code) == (status, code), raised.value.message
    return raised.value


def lease_of(blob: BlobClient) -> tuple[str, str, str | None]:
    lease = blob.get_blob_properties().lease
    return lease.state, lease.status, lease.duration


def test_acquire_renew_change_release(blob):
    lease = BlobLeaseClient(blob)
    lease.acquire(lease_duration=15)
    assert lease.etag and lease.last_modified
    assert lease_of(blob) == ("leased", "locked", "fixed")
    lease.renew()
    first_id, second_id = lease.id, str(uuid.uuid4())
    lease.change(second_id)
    assert lease.id == second_id
    refused(BlobLeaseClient(blob, first_id).renew, 409, "LeaseIdMismatchWithLeaseOperation")
    lease.release()
    assert lease_of(blob) == ("available", "unlocked", None)

    forever = BlobLeaseClient(blob)
    forever.acquire()  # -1: infinite
    assert lease_of(blob) == ("leased", "locked", "infinite")
    forever.release()


def test_each_refusal_has_azure_storages_code_and_status(blob, blob_url, emulator):
    holder, other = BlobLeaseClient(blob), BlobLeaseClient(blob)
    holder.acquire(lease_duration=60)
    holder.acquire(lease_duration=60)  # again under the same id: allowed
    refused(lambda: other.acquire(lease_duration=15), 409, "LeaseAlreadyPresent")
    refused(other.renew, 409, "LeaseIdMismatchWithLeaseOperation")
    refused(lambda: other.change(str(uuid.uuid4())), 409, "LeaseIdMismatchWithLeaseOperation")
    refused(other.release, 409, "LeaseIdMismatchWithLeaseOperation")
    error = refused(lambda: BlobLeaseClient(blob).acquire(lease_duration=10), 400, "InvalidHeaderValue")
    assert "x-ms-lease-duration" in error.message
    assert holder.break_lease(lease_break_period=0) == 0
    refused(holder.renew, 409, "LeaseIsBrokenAndCannotBeRenewed")
    refused(lambda: holder.change(str(uuid.uuid4())), 409, "LeaseNotPresentWithLeaseOperation")
    holder.release()
    refused(lambda: holder.break_lease(), 409, "LeaseNotPresentWithLeaseOperation")

    absent = BlobClient.from_blob_url(blob_url(name="absent"), connection_verify=emulator.ca_file)
    refused(lambda: BlobLeaseClient(absent).acquire(lease_duration=15), 404, "BlobNotFound")


def test_a_break_period_keeps_the_lease_breaking_then_broken(blob):
    holder, other = BlobLeaseClient(blob), BlobLeaseClient(blob)
    holder.acquire()
    assert holder.break_lease(lease_break_period=1) == 1
    assert lease_of(blob) == ("breaking", "locked", None)
    refused(lambda: other.acquire(lease_duration=15), 409, "LeaseAlreadyPresent")
    refused(lambda: holder.acquire(lease_duration=15), 409, "LeaseIsBreakingAndCannotBeAcquired")
    refused(holder.renew, 409, "LeaseIsBrokenAndCannotBeRenewed")
    time.sleep(1.1)
    assert lease_of(blob) == ("broken", "unlocked", None)
    other.acquire(lease_duration=15)  # a forced takeover: break, then acquire
    assert lease_of(blob) == ("leased", "locked", "fixed")
    assert other.break_lease(lease_break_period=0) == 0
    assert lease_of(blob) == ("broken", "unlocked", None)


def test_writes_and_deletes_need_the_lease_while_it_is_held(blob, blob_url, emulator):
    lease = BlobLeaseClient(blob)
    lease.acquire(lease_duration=15)
    stranger = str(uuid.uuid4())
    refused(lambda: blob.upload_blob(b"mine", overwrite=True), 412, "LeaseIdMissing")
    refused(
        lambda: blob.upload_blob(b"mine", overwrite=True, lease=stranger),
        412,
        "LeaseIdMismatchWithBlobOperation",
    )
    blob.upload_blob(b"held", overwrite=True, lease=lease)
    assert blob.download_blob().readall() == b"held"  # reads need no lease
    refused(lambda: blob.download_blob(lease=stranger), 412, "LeaseIdMismatchWithBlobOperation")
    refused(blob.delete_blob, 412, "LeaseIdMissing")
    blob.delete_blob(lease=lease)
    refused(blob.get_blob_properties, 404, "BlobNotFound")

    refused(lambda: blob.upload_blob(b"new", lease=stranger), 412, "LeaseNotPresentWithBlobOperation")
    blob.upload_blob(b"new")  # a recreated blob has no lease
    assert lease_of(blob) == ("available", "unlocked", None)


def test_the_sas_must_grant_write_to_lease_and_delete_to_delete(blob, blob_url, emulator):
    def client(permissions: str) -> BlobClient:
        return BlobClient.from_blob_url(blob_url(permissions), connection_verify=emulator.ca_file)

    refused(lambda: BlobLeaseClient(client("r")).acquire(lease_duration=15), 403, "AuthenticationFailed")
    refused(client("rw").delete_blob, 403, "AuthenticationFailed")
    BlobLeaseClient(blob).acquire(lease_duration=15)
    assert BlobLeaseClient(client("d")).break_lease(lease_break_period=0) == 0  # delete may break


def test_the_raw_replies(blob, emulator):
    url = blob.url
    proposed = str(uuid.uuid4())
    with https_client(emulator.ca_file) as http:
        lease = {
            "x-ms-lease-action": "acquire",
            "x-ms-lease-duration": "15",
            "x-ms-proposed-lease-id": proposed,
        }
        acquired = http.put(f"{url}&comp=lease", headers=lease)
        assert acquired.status_code == 201
        assert acquired.headers["x-ms-lease-id"] == proposed
        assert {"etag", "last-modified", "x-ms-request-id", "x-ms-version"} <= set(acquired.headers)
        head = http.head(url)
        assert (head.headers["x-ms-lease-state"], head.headers["x-ms-lease-duration"]) == ("leased", "fixed")
        broken = http.put(f"{url}&comp=lease", headers={"x-ms-lease-action": "break"})
        assert (broken.status_code, broken.headers["x-ms-lease-time"]) == (202, "15")
        invalid = http.put(f"{url}&comp=lease", headers={**lease, "x-ms-lease-duration": "61"})
        assert invalid.status_code == 400
        assert "<HeaderName>x-ms-lease-duration</HeaderName><HeaderValue>61</HeaderValue>" in invalid.text


def test_of_clients_racing_for_the_lease_exactly_one_wins(blob, emulator):
    def acquire() -> str:
        contender = BlobClient.from_blob_url(blob.url, connection_verify=emulator.ca_file)
        try:
            BlobLeaseClient(contender).acquire(lease_duration=15)
        except HttpResponseError as error:
            return "refused" if error.error_code == "LeaseAlreadyPresent" else error.message
        return "won"

    assert sorted(race(acquire, 4)) == ["refused"] * 3 + ["won"]


def test_an_entra_id_bearer_token_instead_of_a_sas(emulator):
    """azure-storage-blob with a token credential (as for an identity with a data role on the
    container) sends `Authorization: Bearer`: the management token is accepted, another is not."""
    from rollout.azureml.local_target import LocalTarget, LocalTokenCredential

    target = LocalTarget(emulator.state_dir)
    account_url = target.blob_account_url(STORAGE_ACCOUNT, STORAGE_SUFFIX)
    name = f"locks/{uuid.uuid4().hex[:8]}/bearer.lock"
    credential, verify = target.credential(), emulator.ca_file
    blob = BlobServiceClient(account_url, credential=credential, connection_verify=verify).get_blob_client(
        BLOB_CONTAINER, name
    )
    blob.upload_blob(b"", overwrite=False)
    lease = BlobLeaseClient(blob)
    lease.acquire(lease_duration=15)
    blob.set_blob_metadata({"holder": "bearer"}, lease=lease)
    assert blob.get_blob_properties().metadata == {"holder": "bearer"}
    lease.release()

    wrong = BlobServiceClient(
        account_url, credential=LocalTokenCredential("not-the-token"), connection_verify=emulator.ca_file
    ).get_blob_client(BLOB_CONTAINER, name)
    refused(wrong.get_blob_properties, 403, "AuthenticationFailed")
    refused(lambda: BlobLeaseClient(wrong).acquire(lease_duration=15), 403, "AuthenticationFailed")
