"""The workspace's artifact store: blob names, SAS grants and the artifacts of a container."""

from __future__ import annotations

import urllib.parse

import pytest

from rollout.emulator.control.artifact_store import BLOB_CONTAINER, Artifact, ArtifactStore


def _sas(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_a_sas_grants_only_its_blob_and_permissions(tmp_path):
    store = ArtifactStore(tmp_path, "secret", "https://127.0.0.1:5000")
    artifact = Artifact("LocalUpload", "c1", "model/MLmodel")
    url = store.content_uri(artifact, "r")
    assert url.startswith(
        "https://127.0.0.1:5000/rolloutemulator.blob.core.windows.net/azureml/LocalUpload/c1/model/MLmodel?"
    )
    sas = _sas(url)
    assert store.sas_allows(BLOB_CONTAINER, artifact.blob, sas, "r")
    assert not store.sas_allows(BLOB_CONTAINER, artifact.blob, sas, "w")
    assert not store.sas_allows(BLOB_CONTAINER, "LocalUpload/c1/other", sas, "r")
    assert not store.sas_allows(BLOB_CONTAINER, artifact.blob, {**sas, "sp": "rcw"}, "w")
    assert not ArtifactStore(tmp_path, "other-key", "https://x").sas_allows(
        BLOB_CONTAINER, artifact.blob, sas, "r"
    )


def test_blobs_are_files_inside_the_store_and_list_as_artifacts(tmp_path):
    store = ArtifactStore(tmp_path, "secret", "https://127.0.0.1:5000")
    store.write_blob(BLOB_CONTAINER, "LocalUpload/c1/model/MLmodel", b"flavors: {}")
    store.write_blob(BLOB_CONTAINER, "LocalUpload/c1/model/data/model.pkl", b"x")
    assert [a.path for a in store.list("LocalUpload", "c1")] == ["model/MLmodel", "model/data/model.pkl"]
    assert [a.path for a in store.list("LocalUpload", "c1", "model/data")] == ["model/data/model.pkl"]
    assert store.exists(Artifact("LocalUpload", "c1", "model/MLmodel"))
    assert (store.artifact_directory("LocalUpload", "c1", "model") / "MLmodel").read_bytes() == b"flavors: {}"
    with pytest.raises(ValueError):
        store.blob_path(BLOB_CONTAINER, "../../outside")


def test_a_container_sas_grants_every_blob_of_its_container_only(tmp_path):
    store = ArtifactStore(tmp_path, "secret", "https://127.0.0.1:5000")
    url = store.container_url("upload-1", "rcwl")
    assert url.startswith("https://127.0.0.1:5000/rolloutemulator.blob.core.windows.net/upload-1?")
    sas = _sas(url)
    assert sas["sr"] == "c"
    assert store.sas_allows("upload-1", "src/score.py", sas, "w")
    assert store.sas_allows("upload-1", "src/deeper/util.py", sas, "r")
    assert not store.sas_allows("upload-2", "src/score.py", sas, "w")
    assert not store.sas_allows(BLOB_CONTAINER, "src/score.py", sas, "r")
    assert not store.sas_allows("upload-1", "src/score.py", {**sas, "sr": "b"}, "w")
    blob_sas = _sas(store.blob_url("upload-1", "src/score.py", "rw"))
    assert not store.sas_allows("upload-1", "src/other.py", {**blob_sas, "sr": "c"}, "w")


def test_blob_metadata_is_kept_beside_the_blob_and_replaced_by_a_new_upload(tmp_path):
    store = ArtifactStore(tmp_path, "secret", "https://127.0.0.1:5000")
    store.write_blob("upload-1", "src/score.py", b"def run(x): return x", {"name": "c0de"})
    assert store.metadata("upload-1", "src/score.py") == {"name": "c0de"}
    store.set_metadata("upload-1", "src/score.py", {"upload_status": "completed"})
    assert store.metadata("upload-1", "src/score.py") == {"upload_status": "completed"}
    store.write_blob("upload-1", "src/score.py", b"def run(x): return 1")
    assert store.metadata("upload-1", "src/score.py") == {}
    assert [p.name for p in store.blob_directory("upload-1", "src").iterdir()] == ["score.py"]
    assert store.metadata("upload-1", "src/missing.py") == {}


def test_blob_urls_of_the_store_name_a_container_and_a_folder(tmp_path):
    store = ArtifactStore(tmp_path, "secret", "https://127.0.0.1:5000")
    base = "https://127.0.0.1:5000/rolloutemulator.blob.core.windows.net"
    assert store.blob_location(f"{base}/upload-1/src") == ("upload-1", "src")
    assert store.blob_location(f"{base}/upload-1/src/nested/") == ("upload-1", "src/nested")
    assert store.blob_location(f"{base}/upload-1") is None
    assert store.blob_location("https://acct.blob.core.windows.net/upload-1/src") is None
    assert store.blob_location("https://127.0.0.1:6000/rolloutemulator.blob.core.windows.net/u/src") is None
    assert store.container_base("upload-1") == f"{base}/upload-1"
