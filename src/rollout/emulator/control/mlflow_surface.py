"""The workspace's MLflow REST surface, as azureml-mlflow calls it, backed by the emulator's registry.

The workspace announces `properties.mlFlowTrackingUri = azureml://<emulator host>/mlflow/v1.0/<workspace id>`;
azureml-mlflow turns it into `https://<host>/mlflow/v2.0/<workspace id>` and appends MLflow's own
REST paths (`/api/2.0/mlflow/...`), with the management token as bearer. Served (MLflow's JSON:
`{"registered_model": ...}`, `{"model_version": ...}`, errors `{"error_code", "message"}`):

- registered-models: get, create, search, get-latest-versions
- model-versions: get, create, search, get-download-uri, update

A version created from `azureml://artifacts/<origin>/<container>/<path>` (what
`MlflowClient.create_model_version(name, source="file:///<model dir>")` sends after uploading the
directory through the artifact service) is registered in the emulator's registry with the uploaded
directory as its source, so that deployments of `azureml:<name>:<version>` load it; the surface
keeps answering with the `azureml://` source, as Azure does.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rollout.emulator.control.artifact_store import ArtifactStore
from rollout.emulator.control.model_registry import ModelRegistry
from rollout.emulator.errors import AzureError

SOURCE_TAG = "rollout.emulator.azureml_source"
_ARTIFACT_SOURCE = re.compile(r"^azureml://artifacts/([^/]+)/([^/]+)/(.+?)/?$")

Params = dict[str, Any]


class MlflowError(Exception):
    """An MLflow REST error: its error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class MlflowSurface:
    """MLflow's model-registry REST API over the emulator's registry and artifact store."""

    def __init__(self, registry: ModelRegistry, artifacts: ArtifactStore) -> None:
        self._registry = registry
        self._artifacts = artifacts
        self._operations: dict[str, Callable[[Any, Params], dict[str, Any]]] = {
            "registered-models/get": self._get_registered_model,
            "registered-models/create": self._create_registered_model,
            "registered-models/search": self._search_registered_models,
            "registered-models/get-latest-versions": self._get_latest_versions,
            "model-versions/get": self._get_model_version,
            "model-versions/create": self._create_model_version,
            "model-versions/search": self._search_model_versions,
            "model-versions/get-download-uri": self._get_download_uri,
            "model-versions/update": self._update_model_version,
        }

    @property
    def operations(self) -> list[str]:
        return list(self._operations)

    async def call(self, request: Request) -> Response:
        """An MLflow model-registry call (GET parameters in the query, others in a JSON body)."""
        operation = request.path_params["operation"]
        handler = self._operations.get(operation)
        if handler is None:
            return mlflow_error(
                MlflowError("ENDPOINT_NOT_FOUND", f"The MLflow endpoint '{operation}' is not served.", 404)
            )
        params = await _params(request)
        try:
            body = await asyncio.to_thread(self._run, handler, params)
        except MlflowError as error:
            return mlflow_error(error)
        return JSONResponse(body)

    def _run(self, handler: Callable[[Any, Params], dict[str, Any]], params: Params) -> dict[str, Any]:
        from mlflow.exceptions import MlflowException

        try:
            return handler(self._registry.client(), params)
        except MlflowException as error:
            raise MlflowError(str(error.error_code), error.message, error.get_http_status_code()) from None

    # Registered models --------------------------------------------------------------------------

    def _get_registered_model(self, client: Any, params: Params) -> dict[str, Any]:
        return {"registered_model": _model_json(client.get_registered_model(_required(params, "name")))}

    def _create_registered_model(self, client: Any, params: Params) -> dict[str, Any]:
        model = client.create_registered_model(
            _required(params, "name"), tags=_tags(params), description=params.get("description")
        )
        return {"registered_model": _model_json(model)}

    def _search_registered_models(self, client: Any, params: Params) -> dict[str, Any]:
        found = client.search_registered_models(
            filter_string=params.get("filter"),
            max_results=int(params.get("max_results") or 100),
            order_by=_list(params.get("order_by")),
            page_token=params.get("page_token"),
        )
        return _page("registered_models", [_model_json(m) for m in found], found.token)

    def _get_latest_versions(self, client: Any, params: Params) -> dict[str, Any]:
        name = _required(params, "name")
        found = client.search_model_versions(f"name = '{_quote(name)}'")
        stages = {s.lower() for s in _list(params.get("stages")) or []}
        latest: dict[str, Any] = {}
        for version in found:
            stage = version.current_stage or "None"
            if stages and stage.lower() not in stages:
                continue
            if stage not in latest or int(version.version) > int(latest[stage].version):
                latest[stage] = version
        return {"model_versions": [self._version_json(v) for v in latest.values()]}

    # Model versions -----------------------------------------------------------------------------

    def _get_model_version(self, client: Any, params: Params) -> dict[str, Any]:
        version = client.get_model_version(_required(params, "name"), _required(params, "version"))
        return {"model_version": self._version_json(version)}

    def _create_model_version(self, client: Any, params: Params) -> dict[str, Any]:
        name, source = _required(params, "name"), _required(params, "source")
        tags = _tags(params)
        match = _ARTIFACT_SOURCE.match(source)
        stored_source = source
        if match is not None:
            try:
                directory = self._artifacts.artifact_directory(*match.groups())
            except ValueError:
                raise MlflowError(
                    "INVALID_PARAMETER_VALUE", f"The source {source} is not valid.", 400
                ) from None
            if not (directory / "MLmodel").is_file():
                raise MlflowError(
                    "INVALID_PARAMETER_VALUE",
                    f"The source {source} is not an MLflow model directory:"
                    " upload it through the artifact service first.",
                    400,
                )
            stored_source, tags = str(directory), {**tags, SOURCE_TAG: source}
        elif source.startswith("azureml://"):
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"The source {source} is not served by the emulator;"
                " use azureml://artifacts/<origin>/<container>/<path>.",
                400,
            )
        elif _is_local_path(source):
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"The source {source} is a path on the caller's disk, which the workspace cannot read:"
                " upload the model through the artifact service first (azureml-mlflow does so when"
                " given a local directory).",
                400,
            )
        version = client.create_model_version(
            name,
            stored_source,
            run_id=params.get("run_id") or None,
            tags=tags,
            run_link=params.get("run_link") or None,
            description=params.get("description") or None,
        )
        return {"model_version": self._version_json(version)}

    def _search_model_versions(self, client: Any, params: Params) -> dict[str, Any]:
        found = client.search_model_versions(
            filter_string=params.get("filter"),
            max_results=int(params.get("max_results") or 10_000),
            order_by=_list(params.get("order_by")),
            page_token=params.get("page_token"),
        )
        return _page("model_versions", [self._version_json(v) for v in found], found.token)

    def _get_download_uri(self, client: Any, params: Params) -> dict[str, Any]:
        name, number = _required(params, "name"), _required(params, "version")
        version = client.get_model_version(name, number)
        source = (version.tags or {}).get(SOURCE_TAG)
        return {"artifact_uri": source or client.get_model_version_download_uri(name, number)}

    def _update_model_version(self, client: Any, params: Params) -> dict[str, Any]:
        version = client.update_model_version(
            _required(params, "name"), _required(params, "version"), description=params.get("description")
        )
        return {"model_version": self._version_json(version)}

    @staticmethod
    def _version_json(version: Any) -> dict[str, Any]:
        from mlflow.utils.proto_json_utils import message_to_json

        body: dict[str, Any] = json.loads(message_to_json(version.to_proto()))
        tags = body.get("tags") or []
        for tag in tags:
            if tag.get("key") == SOURCE_TAG:
                body["source"] = tag.get("value")
        body["tags"] = [tag for tag in tags if tag.get("key") != SOURCE_TAG]
        if not body["tags"]:
            del body["tags"]
        return body


def mlflow_error(error: MlflowError | AzureError) -> Response:
    """MLflow's error reply; an Azure error (such as a missing token) keeps its code and status."""
    code = error.code
    return JSONResponse({"error_code": code, "message": error.message}, status_code=error.status)


def _model_json(model: Any) -> dict[str, Any]:
    from mlflow.utils.proto_json_utils import message_to_json

    body: dict[str, Any] = json.loads(message_to_json(model.to_proto()))
    for version in body.get("latest_versions", []):
        for tag in version.get("tags", []):
            if tag.get("key") == SOURCE_TAG:
                version["source"] = tag.get("value")
    return body


async def _params(request: Request) -> Params:
    if request.method == "GET":
        params: Params = {}
        for key, value in request.query_params.multi_items():
            if key in params:
                params[key] = [*(_list(params[key]) or []), value]
            else:
                params[key] = value
        return params
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise MlflowError("MALFORMED_REQUEST", "The request body is not JSON.", 400) from None
    if not isinstance(body, dict):
        raise MlflowError("MALFORMED_REQUEST", "The request body must be a JSON object.", 400)
    return body


def _required(params: Params, key: str) -> str:
    value = params.get(key)
    if value in (None, ""):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{key}'.", 400)
    return str(value)


def _tags(params: Params) -> dict[str, str]:
    tags = params.get("tags") or []
    if isinstance(tags, str):
        tags = json.loads(tags)
    return {
        str(tag["key"]): str(tag.get("value", "")) for tag in tags if isinstance(tag, dict) and "key" in tag
    }


def _list(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _page(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {key: items}
    if token:
        body["next_page_token"] = token
    return body


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _is_local_path(source: str) -> bool:
    """A `file:` URI or a bare path: a place on some disk, never a source a workspace registers."""
    scheme = urlparse(source).scheme
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter reads as a scheme
