"""The schema the samples must fit: the request schema a code deployment's scoring script declares
(its `inference-schema` decorators, which Azure's inference server turns into the `ServiceInput` of
the deployment's swagger document, served at the endpoint's `swaggerUri`), else the project's
`samples/sample.schema.json`.

A no-code MLflow deployment's swagger is made from the model's signature, which the sample schema
comes from already: the sample schema stands for it. A script without decorators has a swagger whose
`ServiceInput` declares nothing (`{"type": "object", "example": {}}`): the sample schema stands too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollout.azureml.scoring import ScoringClient

SERVICE_INPUT = "ServiceInput"
_DECLARING = ("properties", "items", "required", "allOf", "anyOf", "oneOf", "$ref", "enum")


@dataclass(frozen=True)
class RequestSchema:
    """A JSON schema for the requests, and where it came from (said in the suite's output)."""

    schema: dict[str, Any]
    source: str


def declared_input(document: Any) -> dict[str, Any] | None:
    """The request schema a swagger document declares (its `ServiceInput`, with the document's
    components for `$ref`s), or None when it declares none."""
    components = document.get("components") if isinstance(document, dict) else None
    schemas = components.get("schemas") if isinstance(components, dict) else None
    service_input = schemas.get(SERVICE_INPUT) if isinstance(schemas, dict) else None
    if not isinstance(service_input, dict) or not any(key in service_input for key in _DECLARING):
        return None
    return {"$ref": f"#/components/schemas/{SERVICE_INPUT}", "components": components}


def request_schema(
    client: ScoringClient, deployment: str, code_deployment: bool, sample_schema: RequestSchema
) -> RequestSchema:
    """The scoring script's declared request schema for a code deployment that has one, else
    `sample_schema` (its source saying why)."""
    if not code_deployment:
        return sample_schema
    reply = client.swagger(deployment)
    declared = declared_input(reply.body) if reply is not None and reply.ok else None
    if declared is not None:
        return RequestSchema(
            declared, f"{deployment}'s swagger ({SERVICE_INPUT}, its scoring script's types)"
        )
    if reply is None:
        why = "the endpoint has no swagger URI"
    elif not reply.ok:
        why = f"its swagger answered {reply.status}"
    else:
        why = "its scoring script declares no input types"
    return RequestSchema(sample_schema.schema, f"{sample_schema.source} ({deployment}: {why})")
