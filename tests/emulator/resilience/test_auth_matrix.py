"""Who may call what: every credential that is not the endpoint's current key or token is 401.

Scoring: no header, a wrong key, a key from before `begin_regenerate_keys` (the real azure-ai-ml
client regenerates it), another endpoint's key or token, the management (ARM) token, a key in the
wrong scheme. The control plane: no token, a wrong token, an endpoint key. The right credential is
200 each time, so a 401 always means the credential.
"""

from __future__ import annotations

import httpx
import pytest

from resilience_support import HeartEndpoint, sample_body, score


@pytest.fixture(scope="module")
def endpoints(deploy_heart, unique_name) -> dict[str, HeartEndpoint]:
    return {
        "keyed": deploy_heart(unique_name("auth-key")),
        "other": deploy_heart(unique_name("auth-other")),
        "tokened": deploy_heart(unique_name("auth-token"), auth_mode="aml_token"),
    }


def test_scoring_takes_only_the_endpoints_current_credential(client, emulator, ml_client, endpoints):
    keyed, other, tokened = endpoints["keyed"], endpoints["other"], endpoints["tokened"]
    old = ml_client.online_endpoints.get_keys(keyed.name)
    assert score(client, keyed, sample_body(), key=old.primary_key).status_code == 200
    assert score(client, keyed, sample_body(), key=old.secondary_key).status_code == 200
    assert score(client, tokened, sample_body()).status_code == 200

    ml_client.online_endpoints.begin_regenerate_keys(keyed.name, key_type="primary").result()
    new = ml_client.online_endpoints.get_keys(keyed.name)
    assert new.primary_key != old.primary_key
    assert new.secondary_key == old.secondary_key
    assert score(client, keyed, sample_body(), key=new.primary_key).status_code == 200

    refused = {
        "the primary key before regeneration": (keyed, old.primary_key),
        "a wrong key": (keyed, "not-the-key"),
        "another endpoint's key": (keyed, other.key),
        "another endpoint's token": (keyed, tokened.key),
        "the management token": (keyed, emulator.management_token),
        "a key on a token endpoint": (tokened, new.primary_key),
        "a tampered token": (tokened, "x" + tokened.key),
    }
    for case, (endpoint, credential) in refused.items():
        response = score(client, endpoint, sample_body(), key=credential)
        assert response.status_code == 401, case
        assert response.json()["error"]["code"] == "Unauthorized", case

    for headers in ({}, {"Authorization": f"Basic {new.primary_key}"}, {"Authorization": new.primary_key}):
        response = client.post(keyed.uri, json=sample_body(), headers=headers)
        assert response.status_code == 401, headers
    assert score(client, keyed, sample_body(), key=new.secondary_key).status_code == 200


def test_the_control_plane_takes_only_the_management_token(emulator, endpoints):
    keyed = endpoints["keyed"]
    path = emulator.endpoint_path(keyed.name)
    with emulator.arm() as arm:
        assert arm.get(path).status_code == 200
        operations = [
            ("GET", path, None),
            ("PUT", path, {"location": "local", "properties": {"authMode": "Key"}}),
            ("PATCH", path, {"tags": {"a": "b"}}),
            ("POST", path + "/listKeys", None),
            ("POST", path + "/regenerateKeys", {"keyType": "Primary"}),
            ("PUT", emulator.deployment_path(keyed.name, "green"), {"properties": {}}),
            ("DELETE", path, None),
        ]
        credentials = {
            "no token": {},
            "a wrong token": {"Authorization": "Bearer not-the-token"},
            "an endpoint key": {"Authorization": f"Bearer {keyed.key}"},
            "the token in another scheme": {"Authorization": f"Basic {emulator.management_token}"},
        }
        with httpx.Client(base_url=emulator.url, verify=emulator.tls_context(), timeout=30.0) as anonymous:
            for method, url, body in operations:
                for case, headers in credentials.items():
                    response = anonymous.request(
                        method, url, json=body, headers=headers, params={"api-version": "2023-04-01-preview"}
                    )
                    assert response.status_code == 401, (method, url, case)
                    assert response.json()["error"]["code"] == "AuthenticationFailed"
        # nothing changed, nothing was deleted
        assert arm.get(path).status_code == 200
        assert "a" not in (arm.get(path).json().get("tags") or {})
