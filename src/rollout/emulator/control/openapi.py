"""The emulator's OpenAPI 3 description, generated from the routes it actually serves.

Every route contributes its path, methods, path parameters and the summary from its handler's
docstring; the ARM routes add the api-version parameter, the bearer scheme and Azure's error shape.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from starlette.routing import BaseRoute, Route

_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}


def openapi_path(path: str) -> str:
    """A Starlette route path in OpenAPI form (`{name:converter}` becomes `{name}`)."""
    return _PARAM.sub(lambda match: "{" + match.group(1) + "}", path)


def document(routes: list[BaseRoute], server_url: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        path = openapi_path(route.path)
        arm = path.startswith("/subscriptions/")
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            paths.setdefault(path, {})[method.lower()] = _operation(route, path, method, arm)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rollout emulator of Azure ML managed online endpoints",
            "version": version,
            "description": (
                "Azure Resource Manager routes (the subset azure-ai-ml uses) under /subscriptions, "
                "scoring under /online-endpoints/{endpoint}/score, metrics, health."
            ),
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "managementToken": {"type": "http", "scheme": "bearer", "description": "The arm-token file."},
                "endpointCredential": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Endpoint key or token.",
                },
            },
            "schemas": {"AzureError": ERROR_SCHEMA},
        },
        "paths": paths,
    }


def _operation(route: Route, path: str, method: str, arm: bool) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or route.name or path
    summary = doc.strip().splitlines()[0]
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name, _converter in _PARAM.findall(route.path)
    ]
    operation: dict[str, Any] = {
        "operationId": f"{route.name}.{method.lower()}" if route.name else f"{method.lower()} {path}",
        "summary": summary,
        "parameters": parameters,
        "responses": {"200": {"description": "Success."}},
    }
    if arm:
        parameters.append(
            {"name": "api-version", "in": "query", "required": True, "schema": {"type": "string"}}
        )
        operation["security"] = [{"managementToken": []}]
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/AzureError"}}}}
        operation["responses"] = {
            **_arm_success(method, path),
            "default": {"description": "An Azure error.", **error},
        }
        if method in {"PUT", "PATCH", "POST"}:
            operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    elif path.endswith("/score"):
        operation["security"] = [{"endpointCredential": []}]
        operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        operation["responses"] = {
            "200": {"description": "The model's predictions, a JSON list."},
            "default": {"description": "A scoring error (400, 401, 404, 408, 413, 415, 424, 429, 502, 503)."},
        }
    return operation


def _arm_success(method: str, path: str) -> dict[str, Any]:
    if method == "PUT":
        return {
            "200": {"description": "Updated; poll the Azure-AsyncOperation header."},
            "201": {"description": "Created; poll the Azure-AsyncOperation header."},
        }
    if method == "PATCH":
        return {
            "200": {"description": "Updated at once."},
            "202": {"description": "Accepted; poll the Azure-AsyncOperation or Location header."},
        }
    if method == "DELETE" or path.endswith(("/regenerateKeys", "/package")):
        return {"202": {"description": "Accepted; poll the Azure-AsyncOperation or Location header."}}
    if path.endswith("/mfeOperationResults/{operation}"):
        return {"202": {"description": "Still running."}, "204": {"description": "Done."}}
    return {"200": {"description": "Success."}}
