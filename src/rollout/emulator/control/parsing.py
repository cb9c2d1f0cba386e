"""Reading control-plane requests: JSON bodies, ISO 8601 durations, and the deployment a PUT describes.

Every malformed value raises `BadArgument` (or `InvalidRequestContent` for a body that is not a JSON
object) naming the field, as Azure does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import isodate
from starlette.requests import Request

from rollout.emulator.errors import BadArgument, InvalidRequestContent
from rollout.emulator.resources import (
    IDENTITY_TYPES,
    Deployment,
    ModelPackage,
    Probe,
    RequestSettings,
    model_uri,
    parse_model_reference,
)

AUTH_MODES_FROM_REST = {"key": "key", "amltoken": "aml_token"}
LOG_CONTAINERS = {"storageinitializer": "storage-initializer", "inferenceserver": "inference-server"}

PackageLookup = Callable[[str, str], ModelPackage | None]


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object ({} when empty)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        raise InvalidRequestContent("The request content is nested too deeply to be parsed.") from None
    except ValueError as error:
        raise InvalidRequestContent(f"The request content is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidRequestContent("The request content must be a JSON object.")
    return body


def json_object(value: Any, what: str) -> dict[str, Any]:
    """A JSON object field ({} when absent)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadArgument(f"'{what}' must be a JSON object.")
    return value


def string_map(value: Any, what: str) -> dict[str, str]:
    """A JSON object of strings, such as tags (null values dropped)."""
    return {str(key): str(item) for key, item in json_object(value, what).items() if item is not None}


def identity_type(value: Any) -> str | None:
    """The managed identity type of an `identity` object (None when absent), in Azure's spelling."""
    identity = json_object(value, "identity")
    if not identity or identity.get("type") is None:
        return None
    spelled = {t.lower().replace(" ", ""): t for t in IDENTITY_TYPES}
    found = spelled.get(str(identity["type"]).lower().replace(" ", ""))
    if found is None:
        raise BadArgument(
            f"Identity type '{identity['type']}' is invalid; use one of {', '.join(IDENTITY_TYPES)}."
        )
    return found


def integer(value: Any, what: str) -> int:
    """A whole number field."""
    if isinstance(value, bool):
        raise BadArgument(f"'{what}' must be an integer.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadArgument(f"'{what}' must be an integer, not {value!r}.") from None


def _seconds(value: Any, what: str) -> float:
    try:
        return isodate.parse_duration(str(value)).total_seconds()
    except (isodate.ISO8601Error, ValueError, AttributeError):
        raise BadArgument(f"'{what}' must be an ISO 8601 duration such as PT5S, not {value!r}.") from None


def _request_settings(value: Any) -> RequestSettings:
    settings = json_object(value, "requestSettings")
    defaults = RequestSettings()
    timeout = settings.get("requestTimeout")
    queue_wait = settings.get("maxQueueWait")
    concurrency = settings.get("maxConcurrentRequestsPerInstance")
    return RequestSettings(
        request_timeout_ms=round(_seconds(timeout, "requestTimeout") * 1000)
        if timeout
        else defaults.request_timeout_ms,
        max_concurrent_requests_per_instance=(
            integer(concurrency, "maxConcurrentRequestsPerInstance")
            if concurrency is not None
            else defaults.max_concurrent_requests_per_instance
        ),
        max_queue_wait_ms=round(_seconds(queue_wait, "maxQueueWait") * 1000)
        if queue_wait
        else defaults.max_queue_wait_ms,
    )


def _probe(value: Any, what: str) -> Probe:
    probe = json_object(value, what)
    defaults = Probe()

    def seconds(key: str, default: int) -> int:
        return round(_seconds(probe[key], f"{what}.{key}")) if probe.get(key) else default

    def count(key: str, default: int) -> int:
        return integer(probe[key], f"{what}.{key}") if probe.get(key) is not None else default

    return Probe(
        initial_delay=seconds("initialDelay", defaults.initial_delay),
        period=seconds("period", defaults.period),
        timeout=seconds("timeout", defaults.timeout),
        success_threshold=count("successThreshold", defaults.success_threshold),
        failure_threshold=count("failureThreshold", defaults.failure_threshold),
    )


def deployment_from_body(
    endpoint: str, name: str, body: dict[str, Any], find_package: PackageLookup
) -> Deployment:
    """The deployment a PUT body describes; `find_package` finds the model of a packaged environment."""
    properties = json_object(body.get("properties"), "properties")
    compute_type = str(properties.get("endpointComputeType") or "Managed")
    if compute_type.lower() != "managed":
        raise BadArgument(
            f"Endpoint compute type '{compute_type}' is not emulated; use a managed deployment."
        )
    code_id, scoring_script = _code_configuration(properties.get("codeConfiguration"))
    instance_type = properties.get("instanceType")
    if not instance_type:
        raise BadArgument(f"Deployment '{name}' has no instance_type.")
    sku = json_object(body.get("sku"), "sku")
    reference, environment, packaged = _model_of(properties, find_package, scripted=code_id is not None)
    uri = model_uri(*parse_model_reference(reference)) if reference else ""
    return Deployment(
        endpoint=endpoint,
        name=name,
        model=reference,
        model_uri=uri,
        instance_type=str(instance_type),
        instance_count=integer(sku.get("capacity", 1), "sku.capacity"),
        request_settings=_request_settings(properties.get("requestSettings")),
        liveness_probe=_probe(properties.get("livenessProbe"), "livenessProbe"),
        readiness_probe=_probe(properties.get("readinessProbe"), "readinessProbe"),
        environment_variables=string_map(properties.get("environmentVariables"), "environmentVariables"),
        tags=string_map(body.get("tags"), "tags"),
        description=properties.get("description"),
        package_model=packaged,
        environment=environment,
        code_id=code_id,
        scoring_script=scoring_script,
    )


def _code_configuration(value: Any) -> tuple[str | None, str | None]:
    """The code version id and scoring script of a `codeConfiguration` (None, None without one)."""
    code = json_object(value, "codeConfiguration")
    if not code:
        return None, None
    code_id, script = code.get("codeId"), code.get("scoringScript")
    if not isinstance(script, str) or not script.strip():
        raise BadArgument("'codeConfiguration.scoringScript' is required: the script's path in the code.")
    if not isinstance(code_id, str) or not code_id.strip():
        raise BadArgument("'codeConfiguration.codeId' is required: the code version holding the script.")
    return code_id, script


def _model_of(
    properties: dict[str, Any], find_package: PackageLookup, *, scripted: bool
) -> tuple[str, str | None, bool]:
    """The deployment's model reference ("" for a scoring script without a model), its environment id
    and whether the model was packaged."""
    environment = properties.get("environmentId")
    if environment is not None and not isinstance(environment, str):
        raise BadArgument("'environmentId' must be a string.")
    reference = properties.get("model")
    if reference:
        return str(reference), environment, False
    if environment:
        parts = str(environment).rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "versions" and parts[-4] == "environments":
            package = find_package(parts[-3], parts[-1])
            if package is not None:
                return package.model_uri, str(environment), True
    if scripted:
        return "", environment, False
    raise BadArgument("The deployment names no model: set model to azureml:<name>:<version>.")
