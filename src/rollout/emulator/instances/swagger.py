"""The swagger (OpenAPI 3) document of a deployment, derived from its MLflow model's signature.

Azure serves one for every MLflow deployment at the endpoint's `swaggerUri`: the scoring request
(`ServiceInput`: `input_data` in pandas split orientation, with the signature's columns and their
types) and the reply (`ServiceOutput`: a JSON list whose `format` says how MLflow clients read it,
`numpy.ndarray` or `pandas.DataFrame`). Pure functions over the signature's JSON form (MLflow's
`Schema.to_dict()`): no MLflow import, no HTTP.
"""

from __future__ import annotations

from typing import Any

NUMPY_FORMAT = "numpy.ndarray"
PANDAS_FORMAT = "pandas.DataFrame"

_JSON_TYPES: dict[str, dict[str, str]] = {
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "binary": {"type": "string", "format": "binary"},
    "datetime": {"type": "string", "format": "date-time"},
}
_TENSOR_TYPES = {
    "bool": "boolean",
    "int32": "integer",
    "int64": "long",
    "float32": "float",
    "float64": "double",
}


def column_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of one signature column (or tensor element)."""
    kind = str(spec.get("type", ""))
    if kind == "tensor":
        dtype = str(spec.get("tensor-spec", {}).get("dtype", ""))
        return dict(_JSON_TYPES.get(_TENSOR_TYPES.get(dtype, ""), {}))
    return dict(_JSON_TYPES.get(kind, {}))


def output_format(outputs: list[dict[str, Any]] | None) -> str | None:
    """How an MLflow client reads the reply: an unnamed single output or a tensor is numpy, else pandas."""
    if not outputs:
        return None
    if any(spec.get("type") == "tensor" for spec in outputs):
        return NUMPY_FORMAT
    if len(outputs) == 1 and not outputs[0].get("name"):
        return NUMPY_FORMAT
    return PANDAS_FORMAT


def swagger_document(
    title: str, inputs: list[dict[str, Any]] | None, outputs: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The OpenAPI 3 document of a scoring route whose model has this signature (None: no signature)."""
    columns = [spec for spec in inputs or [] if spec.get("name")]
    data_item: dict[str, Any] = {"type": "array", "items": {}}
    if columns:
        data_item["items"] = {"anyOf": _distinct(column_schema(spec) for spec in columns)}
        data_item["minItems"] = data_item["maxItems"] = len(columns)
    input_data: dict[str, Any] = {
        "type": "object",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "index": {"type": "array", "items": {"type": "integer"}},
            "data": {"type": "array", "items": data_item},
        },
        "required": ["data"],
    }
    if columns:
        input_data["properties"]["columns"]["example"] = [spec["name"] for spec in columns]
    service_output: dict[str, Any] = {"type": "array", "items": _output_items(outputs)}
    fmt = output_format(outputs)
    if fmt is not None:
        service_output["format"] = fmt
    return {
        "openapi": "3.0.1",
        "info": {
            "title": title,
            "description": f"API specification for the Azure Machine Learning deployment {title}",
            "version": "1.0",
        },
        "paths": {
            "/": {
                "get": {"operationId": "ServiceHealthCheck", "responses": {"200": {"description": "Alive."}}}
            },
            "/score": {
                "post": {
                    "operationId": "RunMLService",
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ServiceInput"}}
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "The model's predictions (records orientation).",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ServiceOutput"}}
                            },
                        },
                        "default": {
                            "description": "An error.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
                            },
                        },
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "Bearer": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "'Bearer <key or token>'.",
                }
            },
            "schemas": {
                "ServiceInput": {
                    "type": "object",
                    "properties": {"input_data": input_data, "params": {"type": "object"}},
                    "required": ["input_data"],
                },
                "ServiceOutput": service_output,
                "ErrorResponse": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        }
                    },
                },
            },
        },
    }


def _output_items(outputs: list[dict[str, Any]] | None) -> dict[str, Any]:
    if not outputs:
        return {}
    if output_format(outputs) == NUMPY_FORMAT:
        return column_schema(outputs[0])
    return {
        "type": "object",
        "properties": {str(spec["name"]): column_schema(spec) for spec in outputs if spec.get("name")},
    }


def _distinct(schemas: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for schema in schemas:
        if schema not in found:
            found.append(schema)
    return found
