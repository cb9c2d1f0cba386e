"""Online endpoints through the real azure-ai-ml MLClient: lifecycle, keys, tokens, workspace, models."""

from __future__ import annotations

import time

import pytest
from azure.ai.ml.entities import ManagedOnlineEndpoint
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from release_lab import VERSIONS


def _score_status(emulator, endpoint: str, credential: str) -> int:
    with emulator.https() as http:
        response = http.post(
            emulator.scoring_uri(endpoint),
            json={"input_data": {"columns": ["a"], "data": [[1]]}},
            headers={"Authorization": f"Bearer {credential}"},
        )
    return response.status_code


def test_endpoint_lifecycle(ml_client, emulator, unique_name):
    name = unique_name("lifecycle")
    created = ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=name, auth_mode="key", description="first", tags={"team": "ml"})
    ).result()
    assert created.provisioning_state == "Succeeded"
    assert created.scoring_uri == emulator.scoring_uri(name)

    endpoint = ml_client.online_endpoints.get(name)
    assert (endpoint.auth_mode, endpoint.description, endpoint.tags, endpoint.traffic) == (
        "key",
        "first",
        {"team": "ml"},
        {},
    )
    assert name in [e.name for e in ml_client.online_endpoints.list()]

    endpoint.tags["stage"] = "prod"
    endpoint.description = "second"
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    updated = ml_client.online_endpoints.get(name)
    assert (updated.description, updated.tags) == ("second", {"team": "ml", "stage": "prod"})

    # A full PUT: an endpoint object built fresh replaces everything it does not carry.
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    replaced = ml_client.online_endpoints.get(name)
    assert (replaced.description, replaced.tags) == (None, {})

    ml_client.online_endpoints.begin_delete(name).result()
    with pytest.raises(ResourceNotFoundError, match=f"Online endpoint '{name}' does not exist"):
        ml_client.online_endpoints.get(name)
    assert name not in [e.name for e in ml_client.online_endpoints.list()]


def test_key_regeneration_revokes_the_old_key_at_once(ml_client, emulator, unique_name):
    name = unique_name("keys")
    ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=name, auth_mode="key")
    ).result()
    first = ml_client.online_endpoints.get_keys(name)
    assert len(first.primary_key) == 32 and len(first.secondary_key) == 32
    assert first.primary_key != first.secondary_key
    assert _score_status(emulator, name, first.primary_key) != 401
    assert _score_status(emulator, name, first.secondary_key) != 401
    assert _score_status(emulator, name, "not-a-key") == 401

    ml_client.online_endpoints.begin_regenerate_keys(name, key_type="primary").result()
    second = ml_client.online_endpoints.get_keys(name)
    assert second.primary_key != first.primary_key
    assert second.secondary_key == first.secondary_key
    assert _score_status(emulator, name, first.primary_key) == 401
    assert _score_status(emulator, name, second.primary_key) != 401

    ml_client.online_endpoints.begin_regenerate_keys(name, key_type="secondary").result()
    third = ml_client.online_endpoints.get_keys(name)
    assert (third.primary_key, third.secondary_key != first.secondary_key) == (second.primary_key, True)
    assert _score_status(emulator, name, first.secondary_key) == 401
    assert _score_status(emulator, name, third.secondary_key) != 401
    ml_client.online_endpoints.begin_delete(name).result()


def test_aml_token_auth(ml_client, emulator, unique_name):
    name, other = unique_name("token"), unique_name("token")
    for endpoint in (name, other):
        ml_client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name=endpoint, auth_mode="aml_token")
        ).result()
    assert ml_client.online_endpoints.get(name).auth_mode == "aml_token"

    token = ml_client.online_endpoints.get_keys(name)
    assert token.token_type == "Bearer"
    assert token.expiry_time_utc > time.time() + 3000
    assert token.refresh_after_time_utc < token.expiry_time_utc
    assert _score_status(emulator, name, token.access_token) != 401
    assert _score_status(emulator, other, token.access_token) == 401  # bound to its endpoint
    assert _score_status(emulator, name, token.access_token[:-2] + "xx") == 401

    with emulator.arm() as arm:
        keys = arm.post(f"{emulator.endpoint_path(name)}/listKeys")
        regenerate = arm.post(f"{emulator.endpoint_path(name)}/regenerateKeys", json={"keyType": "Primary"})
    for response in (keys, regenerate):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "BadArgument"
        assert "uses aml_token auth" in response.json()["error"]["message"]

    # Recreating the endpoint under the same name revokes the tokens of the old one.
    ml_client.online_endpoints.begin_delete(name).result()
    ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=name, auth_mode="aml_token")
    ).result()
    assert _score_status(emulator, name, token.access_token) == 401
    for endpoint in (name, other):
        ml_client.online_endpoints.begin_delete(endpoint).result()


def test_switching_auth_mode_between_key_and_token(ml_client, emulator, unique_name):
    name = unique_name("auth")
    ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=name, auth_mode="key")
    ).result()
    key = ml_client.online_endpoints.get_keys(name).primary_key
    endpoint = ml_client.online_endpoints.get(name)
    endpoint.auth_mode = "aml_token"
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    assert _score_status(emulator, name, key) == 401
    token = ml_client.online_endpoints.get_keys(name).access_token
    assert _score_status(emulator, name, token) != 401
    ml_client.online_endpoints.begin_delete(name).result()


def test_workspace_and_models_come_from_the_registry(ml_client, emulator, registered_models):
    workspace = ml_client.workspaces.get("local")
    assert workspace.location == "local"
    # The workspace's MLflow surface, as Azure announces it (azureml-mlflow rewrites v1.0 to v2.0).
    host = emulator.url.split("://", 1)[1]
    assert workspace.mlflow_tracking_uri.replace("/mlflow/v2.0/", "/mlflow/v1.0/") == (
        f"azureml://{host}/mlflow/v1.0{emulator.workspace_path}"
    )

    model = ml_client.models.get(registered_models.heart, "2")
    assert (model.name, model.version, model.type) == (registered_models.heart, "2", "mlflow_model")
    assert model.properties["mlflowModelUri"] == "models:/heart-classifier/2"
    assert str(model.path).startswith("azureml://locations/local/workspaces/")
    assert str(model.path).endswith("/models/heart-classifier/versions/2")
    assert model.id.endswith("/workspaces/local/models/heart-classifier/versions/2")
    registered = sorted(VERSIONS.values(), reverse=True)  # every version of the lab's registry
    latest = {m.name: m.latest_version for m in ml_client.models.list()}
    assert latest[registered_models.heart] == str(registered[0])
    assert [m.version for m in ml_client.models.list(name=registered_models.heart)] == [
        str(version) for version in registered
    ]
    with pytest.raises(ResourceNotFoundError, match="heart-classifier:99 does not exist"):
        ml_client.models.get(registered_models.heart, "99")
    assert ml_client.models.get(registered_models.heart, label="latest").version == str(registered[0])
    with pytest.raises(ResourceNotFoundError, match="Model 'no-such-model' does not exist"):
        list(ml_client.models.list(name="no-such-model"))
    with emulator.arm() as arm:  # the model container itself, as ARM shows it
        found = arm.get(f"{emulator.workspace_path}/models/{registered_models.heart}")
        missing = arm.get(f"{emulator.workspace_path}/models/no-such-model")
    assert found.status_code == 200, found.text
    assert found.json()["properties"]["latestVersion"] == str(registered[0])
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"


def test_arm_requests_need_the_management_token_and_an_api_version(emulator):
    path = f"{emulator.workspace_path}/onlineEndpoints"
    with emulator.https() as http:
        anonymous = http.get(path, params={"api-version": "2023-04-01-preview"})
        wrong = http.get(
            path, params={"api-version": "2023-04-01-preview"}, headers={"Authorization": "Bearer nope"}
        )
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"
    with emulator.https() as http:
        no_version = http.get(path, headers={"Authorization": f"Bearer {emulator.management_token}"})
    with emulator.arm() as arm:
        other_workspace = arm.get(path.replace("/workspaces/local/", "/workspaces/elsewhere/"))
    assert no_version.status_code == 400
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    assert other_workspace.status_code == 404
    assert "Workspace 'elsewhere' does not exist" in other_workspace.json()["error"]["message"]


def test_sdk_errors_carry_azure_codes(ml_client, unique_name):
    with pytest.raises(HttpResponseError) as raised:
        ml_client.online_endpoints.begin_regenerate_keys(unique_name("missing")).result()
    assert raised.value.status_code == 404
    assert raised.value.error.code == "NotFound"
