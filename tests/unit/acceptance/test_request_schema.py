"""The request schema a swagger document declares: its ServiceInput (with its components for
`$ref`s) when the scoring script declares input types, none when it declares nothing. The documents'
schemas are the ones azmlinfsrv 1.5.1 serves for such scripts."""

from __future__ import annotations

import jsonschema

from rollout.acceptance.request_schema import declared_input

UNDECLARED = {"type": "object", "example": {}}  # a script without inference-schema decorators
DECLARED = {
    "type": "object",
    "properties": {
        "input_data": {
            "type": "object",
            "required": ["columns", "data"],
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "data": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number", "format": "double"}},
                },
            },
        }
    },
    "example": {"input_data": {"columns": ["age", "chol"], "data": [[48.0, 275.0]]}},
}


def _document(service_input: dict) -> dict:
    error = {"type": "object", "properties": {"message": {"type": "string"}}}
    return {
        "openapi": "3.0.3",
        "components": {"schemas": {"ServiceInput": service_input, "ErrorResponse": error}},
    }


def test_a_declared_service_input_is_the_request_schema_and_refs_resolve_in_the_document() -> None:
    document = _document({"$ref": "#/components/schemas/Typed"})
    document["components"]["schemas"]["Typed"] = DECLARED
    validator = jsonschema.Draft202012Validator(declared_input(document) or {})
    assert validator.is_valid({"input_data": {"columns": ["age", "chol"], "data": [[61, 290.5]]}})
    errors = [
        e.message for e in validator.iter_errors({"input_data": {"columns": ["thal"], "data": [["normal"]]}})
    ]
    assert errors == ["'normal' is not of type 'number'"]
    assert not validator.is_valid({"input_data": {"columns": ["age"]}})  # data is required


def test_nothing_declared_or_no_swagger_document_gives_none() -> None:
    assert declared_input(_document(UNDECLARED)) is None
    assert declared_input({"message": "Swagger not found"}) is None
    assert declared_input(None) is None
