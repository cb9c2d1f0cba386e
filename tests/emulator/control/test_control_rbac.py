"""Azure RBAC on the emulator, with the repository's own role definitions (`.github/roles/`) given
to identities by `rollout emulator identity`'s grant, through the real MLClient and
azure-storage-blob: an action outside the caller's roles is 403 `AuthorizationFailed` in ARM's
shape and changes nothing; the caller's permissions as ARM answers them; the lock's data role."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobLeaseClient, BlobServiceClient

from rollout.azureml.local_target import LocalTarget, LocalTokenCredential
from rollout.emulator.constants import (
    RESOURCE_GROUP,
    STORAGE_ACCOUNT,
    STORAGE_SUFFIX,
    SUBSCRIPTION_ID,
    WORKSPACE,
)
from rollout.emulator.control.arm_actions import container_scope
from rollout.emulator.control.artifact_store import BLOB_CONTAINER
from rollout.emulator.host.identity_grant import RoleGrant, grant

ROLES = Path(__file__).resolve().parents[3] / ".github" / "roles"
ENDPOINT_WRITE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write"
SCOPE = {"subscription": SUBSCRIPTION_ID, "resource_group": RESOURCE_GROUP, "workspace": WORKSPACE}


def identity(emulator, *roles: str) -> tuple[str, str]:
    """A new client id with these roles of .github/roles (the lock's on the emulator's container),
    and its token."""
    client_id = str(uuid.uuid4())
    grants = [
        RoleGrant(ROLES / f"{role}.json", container_scope(BLOB_CONTAINER) if role == "rollout-lock" else None)
        for role in roles
    ]
    return client_id, grant(emulator.state_dir, client_id, grants)


@pytest.fixture(scope="module")
def endpoint(ml_client, registered_models, unique_name):
    """An endpoint whose traffic all goes to `one` of its two deployments (their model version does
    not exist: they fail at once, without instances; traffic only needs them to exist)."""
    name = unique_name("rbac")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    for deployment in ("one", "two"):
        with pytest.raises(HttpResponseError, match="was not found"):
            _create(ml_client, _deployment(name, deployment, registered_models))
    current = ml_client.online_endpoints.get(name)
    current.traffic = {"one": 100}
    ml_client.online_endpoints.begin_create_or_update(current).result()
    yield name
    ml_client.online_endpoints.begin_delete(name).result()


def _deployment(endpoint: str, name: str, registered_models) -> ManagedOnlineDeployment:
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=f"azureml:{registered_models.heart}:96",
        instance_type="Standard_DS3_v2",
        instance_count=1,
    )


def served(client, endpoint: str) -> dict[str, int]:
    """The endpoint's traffic, deployments with a share only."""
    return {name: share for name, share in client.online_endpoints.get(endpoint).traffic.items() if share}


def _create(client, deployment: ManagedOnlineDeployment) -> None:
    client.online_deployments.begin_create_or_update(deployment).result()


def _move_traffic(client, endpoint: str) -> HttpResponseError:
    current = client.online_endpoints.get(endpoint)
    current.traffic = {"one": 0, "two": 100}
    with pytest.raises(HttpResponseError) as raised:
        client.online_endpoints.begin_create_or_update(current).result()
    return raised.value


def test_a_gate_token_cannot_move_traffic(emulator, ml_client, endpoint):
    client_id, token = identity(emulator, "rollout-gate")
    gate = emulator.ml_client_as(token)

    assert served(gate, endpoint) == {"one": 100}  # reading is its job
    error = _move_traffic(gate, endpoint)

    assert (error.status_code, error.error.code) == (403, "AuthorizationFailed")
    scope = emulator.endpoint_path(endpoint).format(**SCOPE)
    assert f"The client '{client_id}' with object id '" in error.error.message
    assert f"perform action '{ENDPOINT_WRITE}' over scope '{scope}'" in error.error.message
    assert served(ml_client, endpoint) == {"one": 100}
    with pytest.raises(HttpResponseError, match="listKeys/action"):
        gate.online_endpoints.get_keys(endpoint)


def test_a_deploy_token_deploys_but_moves_no_traffic(emulator, ml_client, endpoint, registered_models):
    _, token = identity(emulator, "rollout-deploy")
    deploy = emulator.ml_client_as(token)

    # the PUT is authorised; the deployment then fails on its (missing) model, as the fixture's did
    with pytest.raises(HttpResponseError, match="was not found"):
        _create(deploy, _deployment(endpoint, "three", registered_models))
    assert ml_client.online_deployments.get("three", endpoint).name == "three"
    error = _move_traffic(deploy, endpoint)
    assert (error.status_code, error.error.code) == (403, "AuthorizationFailed")
    assert served(ml_client, endpoint) == {"one": 100}
    deploy.online_deployments.begin_delete("three", endpoint).result()
    assert "three" not in {d.name for d in ml_client.online_deployments.list(endpoint)}


def test_the_permissions_route_answers_the_callers_roles(emulator):
    _, token = identity(emulator, "rollout-gate", "rollout-lock")
    path = emulator.workspace_path.format(**SCOPE)
    url = f"{path}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
    with emulator.https() as http:
        mine = http.get(url, headers={"Authorization": f"Bearer {token}"}).json()["value"]
        owner = http.get(url, headers={"Authorization": f"Bearer {emulator.management_token}"}).json()[
            "value"
        ]

    # the lock's role is assigned on its container, below the workspace's resource group: not here
    assert mine == [
        {
            "actions": [
                "Microsoft.MachineLearningServices/workspaces/read",
                "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read",
                "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read",
            ],
            "notActions": [],
            "dataActions": [],
            "notDataActions": [],
        }
    ]
    assert owner == [{"actions": ["*"], "notActions": [], "dataActions": ["*"], "notDataActions": []}]


def test_only_the_lock_role_leases_the_lock_blob(emulator):
    target = LocalTarget(emulator.state_dir)
    account_url = target.blob_account_url(STORAGE_ACCOUNT, STORAGE_SUFFIX)
    name = f"locks/{uuid.uuid4().hex[:8]}/rbac.lock"

    def blob(token: str):
        service = BlobServiceClient(
            account_url, credential=LocalTokenCredential(token), connection_verify=emulator.ca_file
        )
        return service.get_blob_client(BLOB_CONTAINER, name)

    blob(emulator.management_token).upload_blob(b"")
    _, gate = identity(emulator, "rollout-gate")
    _, lock = identity(emulator, "rollout-traffic", "rollout-lock")

    with pytest.raises(HttpResponseError) as raised:
        BlobLeaseClient(blob(gate)).acquire(lease_duration=15)
    assert (raised.value.status_code, raised.value.error_code) == (403, "AuthorizationPermissionMismatch")
    lease = BlobLeaseClient(blob(lock))
    lease.acquire(lease_duration=15)
    blob(lock).set_blob_metadata({"holder": "traffic"}, lease=lease)
    assert blob(lock).get_blob_properties().metadata == {"holder": "traffic"}
    lease.release()


def test_the_pull_requests_identity_reads_what_a_rehearsal_needs_and_writes_nothing(
    emulator, ml_client, endpoint, registered_models
):
    client_id, token = identity(emulator, "rollout-pull-request")
    pull_request = emulator.ml_client_as(token)
    heart = registered_models.heart

    # what `rollout rehearse` reads on the target: both versions (ARM and the workspace's MLflow
    # registry, as azureml-mlflow asks it) and the endpoint
    live, pinned = (pull_request.models.get(heart, str(v)) for v in registered_models.heart_versions)
    assert (live.version, pinned.version) == ("1", "2")
    assert served(pull_request, endpoint) == {"one": 100}
    mlflow = f"/mlflow/v2.0{emulator.workspace_path.format(**SCOPE)}/api/2.0/mlflow"
    signed_in = {"Authorization": f"Bearer {token}"}
    with emulator.https() as http:
        version = http.get(
            f"{mlflow}/model-versions/get", params={"name": heart, "version": "2"}, headers=signed_in
        )
        registered = http.post(
            f"{mlflow}/registered-models/create", json={"name": "pr-wrote-this"}, headers=signed_in
        )
    assert version.status_code == 200 and version.json()["model_version"]["version"] == "2"
    assert registered.status_code == 403 and "workspaces/models/write" in registered.text

    # and nothing else: no traffic, no deployment, no keys
    error = _move_traffic(pull_request, endpoint)
    assert (error.status_code, error.error.code) == (403, "AuthorizationFailed")
    assert f"The client '{client_id}' with object id '" in error.error.message
    with pytest.raises(HttpResponseError) as keys:
        pull_request.online_endpoints.get_keys(endpoint)
    assert (keys.value.status_code, keys.value.error.code) == (403, "AuthorizationFailed")
    assert "onlineEndpoints/listKeys/action" in keys.value.error.message
    with pytest.raises(HttpResponseError) as deployed:
        _create(pull_request, _deployment(endpoint, "three", registered_models))
    assert (deployed.value.status_code, deployed.value.error.code) == (403, "AuthorizationFailed")
    assert "three" not in {d.name for d in ml_client.online_deployments.list(endpoint)}
    assert served(ml_client, endpoint) == {"one": 100}
