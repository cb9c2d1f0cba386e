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
