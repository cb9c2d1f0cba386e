"""The emulator describes itself: /openapi.json names every route it serves, and /healthz answers."""

from __future__ import annotations

import re

# What azure-ai-ml calls, plus the data plane, metrics and the emulator's own routes.
WORKSPACE = (
    "/subscriptions/{subscription}/resourceGroups/{resource_group}"
    "/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
)
ENDPOINT = WORKSPACE + "/onlineEndpoints/{endpoint}"
DEPLOYMENT = ENDPOINT + "/deployments/{deployment}"
LOCATION = "/subscriptions/{subscription}/providers/Microsoft.MachineLearningServices/locations/{location}"
EXPECTED = {
    ("get", WORKSPACE),
    ("get", WORKSPACE + "/onlineEndpoints"),
    ("get", ENDPOINT),
    ("put", ENDPOINT),
    ("delete", ENDPOINT),
    ("post", ENDPOINT + "/listKeys"),
    ("post", ENDPOINT + "/regenerateKeys"),
    ("post", ENDPOINT + "/token"),
    ("get", ENDPOINT + "/deployments"),
    ("get", DEPLOYMENT),
    ("put", DEPLOYMENT),
    ("delete", DEPLOYMENT),
    ("post", DEPLOYMENT + "/getLogs"),
    ("get", WORKSPACE + "/models"),
    ("get", WORKSPACE + "/models/{model}"),
    ("get", WORKSPACE + "/models/{model}/versions"),
    ("get", WORKSPACE + "/models/{model}/versions/{version}"),
    ("post", WORKSPACE + "/models/{model}/versions/{version}/package"),
    ("get", LOCATION + "/mfeOperationsStatus/{operation}"),
    ("get", LOCATION + "/mfeOperationResults/{operation}"),
    ("post", "/online-endpoints/{endpoint}/score"),
    ("get", "/metrics"),
    ("get", "/metrics.json"),
    ("get", "/healthz"),
    ("get", "/openapi.json"),
}
FILLERS = {
    "subscription": "00000000-0000-0000-0000-000000000000",
    "resource_group": "local",
    "workspace": "local",
    "location": "local",
}


def test_openapi_describes_every_route_it_serves(emulator):
    with emulator.https() as http:
        document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": emulator.url}]
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert described >= EXPECTED
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["summary"], (method, path)
            assert operation["responses"], (method, path)
            names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_every_described_route_is_served(emulator):
    """No described route is missing from the server: each answers other than 404-no-route or 405."""
    with emulator.https() as http:
        document = http.get("/openapi.json").json()
        for path, item in document["paths"].items():
            concrete = re.sub(r"{(\w+)}", lambda m: FILLERS.get(m.group(1), "absent-thing"), path)
            for method in item:
                response = http.request(
                    method.upper(), concrete, params={"api-version": "2023-04-01-preview"}
                )
                assert response.status_code != 405, (method, path)
                assert "no such route" not in response.text, (method, path)


def test_unknown_routes_and_methods_answer_azures_error_shape(emulator):
    """A path the emulator does not serve is 404 NotFound, a method a route does not take 405
    MethodNotAllowed, both as Azure's JSON error body."""
    with emulator.https() as http:
        missing = http.get(f"{emulator.workspace_path}/computes", params={"api-version": "2025-12-01"})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json()["error"]["code"] == "NotFound"
        assert "no such route" in missing.json()["error"]["message"]
        wrong = http.post(emulator.endpoint_path("anything"), params={"api-version": "2025-12-01"})
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "MethodNotAllowed"
        assert "POST" in wrong.json()["error"]["message"]


def test_healthz(emulator):
    with emulator.https() as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "url": emulator.url,
        "registry_uri": emulator.registry_uri,
        "pid": emulator.pid,
        "restored": [],  # nothing brought back from an earlier run
    }
