"""The workspace's MLflow surface: its tracking URI, azureml-mlflow registering a model directory
(artifact service + blob upload + model-versions/create) and reading it back, the version deployed
by the emulator as `azureml:<name>:<version>`, and the routes' shapes and errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, ProbeSettings

from chaos_support import https_client
from cloud_support import run_in_cloud, tracking_uri
from rollout.emulator.constants import RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE

API = "/api/2.0/mlflow"


def _mlflow_base(emulator) -> str:
    return f"/mlflow/v2.0{emulator.workspace_path}{API}"


def _artifacts_base(emulator) -> str:
    return f"/artifact/v2.0{emulator.workspace_path}/artifacts"


@pytest.fixture(scope="module")
def heart_model_dir(emulator_registry, registered_models, tmp_path_factory):
    """A copy of the heart classifier's version 1 directory (an MLflow model with MLmodel)."""
    import mlflow.artifacts

    from rollout import registry

    source = registry.client(emulator_registry.uri).get_model_version(registered_models.heart, "1").source
    target = tmp_path_factory.mktemp("workspace-model")
    path = mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(target))
    return path


def test_the_workspace_announces_its_mlflow_tracking_uri(emulator):
    with emulator.arm() as arm:
        workspace = arm.get(emulator.workspace_path).json()
    assert workspace["properties"]["mlFlowTrackingUri"] == tracking_uri(emulator.url)


def test_azureml_mlflow_registers_a_version_that_the_emulator_deploys(
    emulator, ml_client, heart_model_dir, tmp_path, sample_request
):
    name = f"ws-heart-{uuid.uuid4().hex[:6]}"
    code = f"""
        import json, pathlib, tempfile
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        ml = MLClient(DefaultAzureCredential(), "{SUBSCRIPTION_ID}", "{RESOURCE_GROUP}", "{WORKSPACE}")
        uri = ml.workspaces.get("{WORKSPACE}").mlflow_tracking_uri
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            client.get_registered_model("{name}")
            missing = False
        except MlflowException as error:
            missing = error.error_code == "RESOURCE_DOES_NOT_EXIST"
        client.create_registered_model("{name}")
        created = client.create_model_version("{name}", source=pathlib.Path(r"{heart_model_dir}").as_uri())
        got = client.get_model_version("{name}", created.version)
        found = client.search_model_versions("name = '{name}'")
        download_uri = client.get_model_version_download_uri("{name}", created.version)

        # Read MLmodel back as azureml-mlflow's artifact repository does (list, contentinfo, blob GET).
        from azureml.mlflow._client.artifact.local_artifact_client import LocalArtifactClient
        origin, container, path = download_uri[len("azureml://artifacts/"):].split("/", 2)
        context = client._get_registry_client().store.service_context
        artifacts = LocalArtifactClient(context, origin, container, None)
        listed = sorted(artifacts.get_file_paths())
        local = pathlib.Path(tempfile.mkdtemp()) / "MLmodel"
        artifacts.download_artifact(path + "/MLmodel", str(local))
        print(json.dumps({{
            "uri": uri, "missing": missing, "version": created.version, "status": got.status,
            "source": got.source, "versions": [v.version for v in found], "download_uri": download_uri,
            "listed": listed, "mlmodel": local.read_text(),
        }}))
    """
    seen = run_in_cloud(emulator.url, emulator.ca_file, emulator.state_dir, tmp_path, code)
    assert seen["uri"] == tracking_uri(emulator.url).replace("/mlflow/v1.0/", "/mlflow/v2.0/")
    assert seen["missing"] is True
    assert seen["version"] == "1" and seen["status"] == "READY"
    assert seen["source"].startswith("azureml://artifacts/LocalUpload/")
    assert seen["download_uri"] == seen["source"]
    assert seen["versions"] == ["1"]
    model_dir_name = seen["source"].rsplit("/", 1)[1]
    assert f"{model_dir_name}/MLmodel" in seen["listed"]
    assert "flavors:" in seen["mlmodel"]

    # The emulator deploys what the workspace registered.
    endpoint = f"wsml-{uuid.uuid4().hex[:8]}"
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=endpoint)).result()
    try:
        deployment = ManagedOnlineDeployment(
            name="blue",
            endpoint_name=endpoint,
            model=f"azureml:{name}:1",
            instance_type="Standard_DS3_v2",
            instance_count=1,
            readiness_probe=ProbeSettings(initial_delay=1, period=1),
        )
        ml_client.online_deployments.begin_create_or_update(deployment).result()
        key = ml_client.online_endpoints.get_keys(endpoint).primary_key
        with https_client(emulator.ca_file) as client:
            reply = client.post(
                emulator.scoring_uri(endpoint),
                json=sample_request,
                headers={"Authorization": f"Bearer {key}", "azureml-model-deployment": "blue"},
            )
        assert reply.status_code == 200, reply.text
        assert isinstance(reply.json(), list)
    finally:
        ml_client.online_endpoints.begin_delete(endpoint).result()


def test_mlflow_errors_and_authentication(emulator):
    base = _mlflow_base(emulator)
    with emulator.arm() as arm:
        arm.params = {}  # type: ignore[assignment]  # MLflow calls carry no api-version
        missing = arm.get(f"{base}/registered-models/get", params={"name": "no-such-model"})
        missing_version = arm.get(
            f"{base}/model-versions/get", params={"name": "no-such-model", "version": "1"}
        )
        unknown = arm.get(f"{base}/experiments/get-by-name", params={"experiment_name": "x"})
        bad_source = arm.post(
            f"{base}/model-versions/create",
            json={"name": "x", "source": "azureml://artifacts/LocalUpload/c/none"},
        )
        local_sources = [
            arm.post(f"{base}/model-versions/create", json={"name": "x", "source": source})
            for source in (str(emulator.state_dir), emulator.state_dir.as_uri(), "C:\\models\\x")
        ]
    with emulator.https() as anonymous:
        unauthenticated = anonymous.get(f"{base}/registered-models/get", params={"name": "x"})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert missing_version.status_code == 404
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert bad_source.status_code == 400 and bad_source.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    for refused in local_sources:  # the caller's disk is no source: nothing of the emulator's gets served
        assert refused.status_code == 400, refused.text
        assert "a path on the caller's disk" in refused.json()["message"]
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error_code"] == "AuthenticationFailed"


def test_artifact_service_and_blob_storage(emulator):
    from azure.storage.blob import BlobClient

    container = f"test-{uuid.uuid4().hex[:8]}"
    base = f"{_artifacts_base(emulator)}/LocalUpload/{container}"
    with emulator.arm() as arm:
        arm.params = {}  # type: ignore[assignment]
        created = arm.post(f"{base}/batch/metadata", json={"paths": [{"path": "model/MLmodel"}]})
        assert created.status_code == 200, created.text
        body = created.json()
        assert body["errors"] == {}
        assert body["artifacts"]["model/MLmodel"]["artifactId"] == f"LocalUpload/{container}/model/MLmodel"
        upload_uri = body["artifactContentInformation"]["model/MLmodel"]["contentUri"]
        assert upload_uri.startswith(f"{emulator.url}/rolloutemulator.blob.core.windows.net/azureml/")
        assert "?" in upload_uri and "sig=" in upload_uri
        absent = arm.get(f"{base}/contentinfo", params={"path": "model/MLmodel"})
        assert absent.status_code == 404

        with https_client(emulator.ca_file) as http:
            unsigned = http.put(
                upload_uri.split("?")[0], content=b"x", headers={"x-ms-blob-type": "BlockBlob"}
            )
            assert unsigned.status_code == 403
            assert "<Code>AuthenticationFailed</Code>" in unsigned.text
        blob = BlobClient.from_blob_url(upload_uri, connection_verify=emulator.ca_file)
        blob.upload_blob(b"flavors: {}\n")  # overwrite=False: If-None-Match: *
        with pytest.raises(Exception, match="BlobAlreadyExists"):
            blob.upload_blob(b"again")

        listed = arm.get(base).json()
        assert [a["path"] for a in listed["value"]] == ["model/MLmodel"]
        assert listed["continuationToken"] is None
        info = arm.get(f"{base}/contentinfo", params={"path": "model/MLmodel"}).json()
        assert set(info) >= {"contentUri", "origin", "container", "path"}
        assert arm.get(f"{base}/metadata", params={"path": "model/MLmodel"}).json()["path"] == "model/MLmodel"

    reader = BlobClient.from_blob_url(info["contentUri"], connection_verify=emulator.ca_file)
    assert reader.download_blob().readall() == b"flavors: {}\n"
    with https_client(emulator.ca_file) as http:
        ranged = http.get(info["contentUri"], headers={"x-ms-range": "bytes=0-6"})
        assert ranged.status_code == 206
        assert ranged.headers["content-range"] == "bytes 0-6/12"
        assert ranged.content == b"flavors"
        read_only = http.put(info["contentUri"], content=b"x", headers={"x-ms-blob-type": "BlockBlob"})
        assert read_only.status_code == 403


def test_mlflow_downloads_a_workspace_version_through_the_artifact_service(
    emulator, heart_model_dir, tmp_path
):
    """`mlflow.artifacts.download_artifacts("models:/<name>/<version>")` on the workspace URI: the
    download URI, then azureml-mlflow's artifact repository (with the project's MLflow 3
    compatibility fix) lists the container and fetches every file's blob."""
    name = f"ws-dl-{uuid.uuid4().hex[:6]}"
    code = f"""
        import json, os, pathlib, tempfile
        import mlflow.artifacts
        from mlflow import MlflowClient
        from rollout.registry import azureml_artifacts

        azureml_artifacts.install()
        uri = "{tracking_uri(emulator.url).replace("/mlflow/v1.0/", "/mlflow/v2.0/")}"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.create_registered_model("{name}")
        version = client.create_model_version("{name}", source=pathlib.Path(r"{heart_model_dir}").as_uri())
        mlflow.set_registry_uri(uri)
        target = tempfile.mkdtemp()
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{{version.version}}", dst_path=target, tracking_uri=uri
        )
        files = sorted(
            str(pathlib.Path(root, f).relative_to(local)) for root, _, names in os.walk(local) for f in names
        )
        print(json.dumps({{"files": files}}))
    """
    seen = run_in_cloud(emulator.url, emulator.ca_file, emulator.state_dir, tmp_path, code)
    expected = sorted(
        str(path.relative_to(heart_model_dir)) for path in Path(heart_model_dir).rglob("*") if path.is_file()
    )
    # MLflow adds registered_model_meta to what it downloads through models:/ URIs.
    assert [f for f in seen["files"] if f != "registered_model_meta"] == expected
    assert "MLmodel" in seen["files"]
