"""Azure RBAC's rules in the emulator: wildcards, NotActions, scopes, permissions, the refusal's
message, identity tokens, and the Azure action of each route the emulator serves."""

from __future__ import annotations

import pytest

from rollout.emulator import identity_tokens
from rollout.emulator.control.arm_actions import arm_action, container_scope, request_scope
from rollout.emulator.control.principals import Principals
from rollout.emulator.control.workspace import OPERATIONS_PATH, WORKSPACE_PATH
from rollout.emulator.identities import IdentityFile
from rollout.emulator.rbac import Principal, RoleAssignment, RoleDefinition, covers, matches, object_id_of

ML = "Microsoft.MachineLearningServices/workspaces"
WS = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"
ENDPOINT = WORKSPACE_PATH + "/onlineEndpoints/{endpoint}"
DEPLOYMENT = ENDPOINT + "/deployments/{deployment}"


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        ("GET", WORKSPACE_PATH, ML + "/read"),
        ("GET", WORKSPACE_PATH + "/onlineEndpoints", ML + "/onlineEndpoints/read"),
        ("PUT", ENDPOINT, ML + "/onlineEndpoints/write"),
        ("PATCH", ENDPOINT, ML + "/onlineEndpoints/write"),
        ("DELETE", ENDPOINT, ML + "/onlineEndpoints/delete"),
        ("POST", ENDPOINT + "/listKeys", ML + "/onlineEndpoints/listKeys/action"),
        ("POST", ENDPOINT + "/regenerateKeys", ML + "/onlineEndpoints/regenerateKeys/action"),
        ("POST", ENDPOINT + "/token", ML + "/onlineEndpoints/token/action"),
        ("GET", ENDPOINT + "/deployments", ML + "/onlineEndpoints/deployments/read"),
        ("PUT", DEPLOYMENT, ML + "/onlineEndpoints/deployments/write"),
        ("DELETE", DEPLOYMENT, ML + "/onlineEndpoints/deployments/delete"),
        ("POST", DEPLOYMENT + "/getLogs", ML + "/onlineEndpoints/deployments/getLogs/action"),
        ("GET", DEPLOYMENT + "/skus", ML + "/onlineEndpoints/deployments/skus/read"),
        ("GET", WORKSPACE_PATH + "/models/{model}/versions/{version}", ML + "/models/versions/read"),
        ("POST", WORKSPACE_PATH + "/models/{m}/versions/{v}/package", ML + "/models/versions/package/action"),
        ("GET", WORKSPACE_PATH + "/datastores/{name}", ML + "/datastores/read"),
        ("POST", WORKSPACE_PATH + "/datastores/{name}/listSecrets", ML + "/datastores/listSecrets/action"),
        ("PUT", WORKSPACE_PATH + "/codes/{name}/versions/{v}", ML + "/codes/versions/write"),
        ("GET", ENDPOINT + "/providers/Microsoft.Insights/metrics", "Microsoft.Insights/metrics/read"),
        (
            "GET",
            OPERATIONS_PATH + "/mfeOperationsStatus/{operation}",
            "Microsoft.MachineLearningServices/locations/mfeOperationsStatus/read",
        ),
    ],
)
def test_each_route_maps_to_its_azure_action(method, path, action):
    assert arm_action(method, path) == action


def test_a_refusal_names_the_resource_a_post_acts_on():
    assert request_scope("POST", WS + "/onlineEndpoints/e/listKeys") == WS + "/onlineEndpoints/e"
    assert request_scope("PUT", WS + "/onlineEndpoints/e") == WS + "/onlineEndpoints/e"
    mlflow = "/mlflow/v2.0" + WS + "/api/2.0/mlflow/model-versions/get"
    assert request_scope("GET", mlflow) == WS + "/api/2.0/mlflow/model-versions/get"  # within the workspace


def test_wildcards_and_not_actions():
    role = RoleDefinition(
        "r", actions=(ML + "/onlineEndpoints/*",), not_actions=(ML + "/onlineEndpoints/listKeys/action",)
    )
    assert matches("microsoft.machinelearningservices/*/READ", ML + "/onlineEndpoints/read")
    assert role.grants(ML + "/onlineEndpoints/write")
    assert role.grants(ML + "/onlineEndpoints/deployments/delete")
    assert not role.grants(ML + "/onlineEndpoints/listKeys/action")
    assert not role.grants(ML + "/read")
    assert not role.grants(ML + "/onlineEndpoints/write", data=True)  # Actions are not DataActions


def test_an_assignment_covers_its_scope_and_below_only():
    assert covers(WS, WS + "/onlineEndpoints/e")
    assert covers(WS.upper(), WS + "/")
    assert not covers(WS, WS + "2/onlineEndpoints/e")
    assert not covers(WS + "/onlineEndpoints/e", WS)
    assert covers("/", WS)


def test_the_lock_role_reaches_its_container_only():
    lock = RoleDefinition(
        "lock", data_actions=("Microsoft.Storage/*/blobs/read", "Microsoft.Storage/*/blobs/write")
    )
    principal = Principal("c", "o", (RoleAssignment(lock, container_scope("locks")),))
    blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"

    assert principal.allowed(blobs + "/write", container_scope("locks"), data=True)
    assert not principal.allowed(blobs + "/delete", container_scope("locks"), data=True)
    assert not principal.allowed(blobs + "/write", container_scope("models"), data=True)
    assert principal.permissions(WS) == []  # assigned below the workspace's group, not at it


def test_the_refusal_is_arms_message():
    principal = Principal("client-1", "oid-1", ())
    assert principal.refusal("a/write", "/s") == (
        "The client 'client-1' with object id 'oid-1' does not have authorization to perform action "
        "'a/write' over scope '/s' or the scope is invalid. If access was recently granted, please refresh "
        "your credentials."
    )


def test_role_definitions_read_azures_shape():
    role = RoleDefinition.from_json({"name": "x", "actions": ["a/read"], "AssignableScopes": ["/s"]})
    assert role == RoleDefinition("x", actions=("a/read",))
    with pytest.raises(ValueError, match="needs a Name"):
        RoleDefinition.from_json({"Actions": []})
    with pytest.raises(ValueError, match="DataActions must be a list"):
        RoleDefinition.from_json({"Name": "x", "DataActions": "a"})


def test_tokens_name_their_client_and_cannot_be_forged_or_outlive_their_expiry():
    token = identity_tokens.issue(
        "key", "client-1", audience="https://management.azure.com/", now=1000, ttl=60
    )

    claims = identity_tokens.verify("key", token, now=1030)
    assert claims is not None and (claims.client_id, claims.object_id) == (
        "client-1",
        object_id_of("client-1"),
    )
    assert identity_tokens.verify("key", token, now=1061) is None
    assert identity_tokens.verify("other-key", token, now=1030) is None
    header, _, signature = token.split(".")
    forged = identity_tokens.issue("guess", "client-2", audience="a", now=1000, ttl=60).split(".")[1]
    assert identity_tokens.verify("key", f"{header}.{forged}.{signature}", now=1030) is None


def test_principals_owner_identity_and_nobody(tmp_path):
    identities = IdentityFile(tmp_path)
    gate = RoleDefinition("gate", actions=(ML + "/read",))
    identities.assign("Client-1", (RoleAssignment(gate, WS),))
    principals = Principals("management", identities, clock=lambda: 1000)
    known = identity_tokens.issue("management", "client-1", audience="a", now=1000, ttl=60)
    unknown = identity_tokens.issue("management", "client-2", audience="a", now=1000, ttl=60)

    assert principals.from_header("Bearer management").allowed(ML + "/onlineEndpoints/write", WS)
    who = principals.from_header(f"Bearer {known}")
    assert who is not None and who.client_id == "client-1"
    assert who.allowed(ML + "/read", WS) and not who.allowed(ML + "/onlineEndpoints/write", WS)
    assert principals.resolve(unknown) is None  # a token for a client id the emulator does not know
    assert principals.from_header("Basic management") is None

    identities.assign("client-1", ())  # roles taken away: the same token now may do nothing
    who = principals.resolve(known)
    assert who is not None and not who.allowed(ML + "/read", WS)
