"""The data plane: `POST /online-endpoints/{endpoint}/score`.

In order: the endpoint must exist (404); `Authorization: Bearer <key or token>` (401); the
deployment named in `azureml-model-deployment` whatever its traffic (404 if unknown), or one
chosen by the traffic weights (`routing`; 404 when no deployment has traffic); a JSON content type
(415); a body within the size limit (413). The body then goes to one of the deployment's ready
instances (`forwarding`: 408, 424, 429, 502, 503). `mirror_traffic` percent of the live (not
header-targeted) requests are also sent to the mirror deployment in the background; its replies
are discarded and counted as mirrored.

Every reply carries `x-request-id` and, once a deployment is chosen, `azureml-model-deployment`;
a reply of the deployment's inference server also its own headers (`x-ms-run-fn-exec-ms`, the time
the scoring script's `run()` took, `x-ms-run-function-failed`, `x-ms-server-version`). Errors are
`rollout.emulator.errors` classes in Azure's error shape.

`GET /online-endpoints/{endpoint}/swagger.json` (the endpoint's `swaggerUri`, same credentials)
answers the swagger document of the deployment a request would reach: its inference server's
(`/swagger.json`, from the scoring script's input and output types; `?version=` passed on).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rollout.emulator.data.forwarding import MODEL_ERROR_STATUS_HEADER, Forwarder
from rollout.emulator.data.metrics import Answer, Metrics
from rollout.emulator.data.routing import TrafficRouter
from rollout.emulator.errors import (
    AzureError,
    DeploymentNotFound,
    EndpointNotFound,
    NotFound,
    NoTraffic,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from rollout.emulator.resources import Deployment, Endpoint
from rollout.emulator.state import EmulatorState

if TYPE_CHECKING:
    from rollout.emulator.instances.pool import InstancePool

# Azure documents no request size limit for managed online endpoints; 10 MiB keeps a runaway
# client from exhausting memory. Override with $ROLLOUT_EMULATOR_MAX_REQUEST_BYTES.
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_REQUEST_BYTES_ENV = "ROLLOUT_EMULATOR_MAX_REQUEST_BYTES"
DEPLOYMENT_HEADER = "azureml-model-deployment"

logger = logging.getLogger(__name__)


class ScoringRoute:
    """The scoring route of one emulator: its state, instances and metrics."""

    def __init__(
        self, state: EmulatorState, pool: InstancePool, metrics: Metrics, max_request_bytes: int | None = None
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.max_request_bytes = max_request_bytes or int(
            os.environ.get(MAX_REQUEST_BYTES_ENV, DEFAULT_MAX_REQUEST_BYTES)
        )
        self.router = TrafficRouter()
        self.forwarder = Forwarder(pool)
        self._background: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.forwarder.aclose()

    async def score(self, request: Request) -> Response:
        headers = request.headers
        request_id = headers.get("x-request-id") or headers.get("x-ms-client-request-id") or str(uuid.uuid4())
        reply_headers = {"x-request-id": request_id}
        if "x-ms-client-request-id" in headers:
            reply_headers["x-ms-client-request-id"] = headers["x-ms-client-request-id"]
        try:
            endpoint, deployment, mirror_name = self._choose(request)
        except AzureError as error:
            return _error_response(error, reply_headers)
        reply_headers[DEPLOYMENT_HEADER] = deployment.name

        started = time.perf_counter()
        try:
            body = await self._read(request)
            if mirror_name is not None:
                self._mirror(endpoint.name, mirror_name, body, request_id)
            reply = await self.forwarder.forward(deployment, body, request_id)
            model_status: int | None = reply.status
            reply_headers.update(reply.headers)
            response = Response(
                reply.content, reply.status, headers=reply_headers, media_type="application/json"
            )
        except AzureError as error:
            model_status = _model_status(error)
            response = _error_response(error, reply_headers)
        self._observe(deployment, response.status_code, started, mirrored=False, model_status=model_status)
        return response

    async def swagger(self, request: Request) -> Response:
        """The swagger document of the deployment that would serve a request (`?version=` passed on)."""
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        reply_headers = {"x-request-id": request_id}
        try:
            _endpoint, deployment, _mirror = self._choose(request, fallback=True)
            reply_headers[DEPLOYMENT_HEADER] = deployment.name
            content = await self.forwarder.swagger(deployment, request.query_params.get("version"))
        except AzureError as error:
            return _error_response(error, reply_headers)
        return Response(content, 200, headers=reply_headers, media_type="application/json")

    def _choose(self, request: Request, *, fallback: bool = False) -> tuple[Endpoint, Deployment, str | None]:
        """The endpoint, the deployment that serves the request and the one that gets a copy, if any."""
        endpoint_name = request.path_params["endpoint"]
        try:
            endpoint = self.state.read_endpoint(endpoint_name)
        except NotFound:
            raise EndpointNotFound(f"Endpoint '{endpoint_name}' does not exist.") from None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.state.check_credential(endpoint.name, token.strip()):
            raise Unauthorized(
                "Missing or invalid credential: send 'Authorization: Bearer <endpoint key or token>'."
            )
        target = request.headers.get(DEPLOYMENT_HEADER, "").strip()
        if target:
            try:
                return endpoint, self.state.read_deployment(endpoint.name, target.lower()), None
            except NotFound:
                raise DeploymentNotFound(
                    f"Deployment '{target}' does not exist in endpoint '{endpoint.name}'."
                ) from None
        name = self.router.pick_live(endpoint.name, endpoint.traffic)
        if name is None and fallback:  # a swagger document needs a model, not traffic
            name = next((d.name for d in self.state.list_deployments(endpoint.name)), None)
        if name is None:
            raise NoTraffic(
                f"Endpoint '{endpoint.name}' has no deployment with traffic; set its traffic, or name "
                f"a deployment in the '{DEPLOYMENT_HEADER}' header."
            )
        try:
            deployment = self.state.read_deployment(endpoint.name, name)
        except NotFound:
            raise DeploymentNotFound(f"Deployment '{name}' does not exist.") from None
        mirror = (
            self.router.pick_mirror(endpoint.name, endpoint.mirror_traffic)
            if endpoint.mirror_traffic
            else None
        )
        return endpoint, deployment, mirror

    async def _read(self, request: Request) -> bytes:
        """The body of a JSON request within the size limit."""
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            await _drain(request)
            raise UnsupportedMediaType(
                f"Content type '{media_type or '(none)'}' is not supported; send 'application/json'."
            )
        limit = self.max_request_bytes
        declared = request.headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > limit
        chunks, size = [], 0
        async for chunk in request.stream():  # read to the end even when too large: see _drain
            size += len(chunk)
            too_large = too_large or size > limit
            if not too_large:
                chunks.append(chunk)
        if too_large:
            raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
        return b"".join(chunks)

    def _mirror(self, endpoint: str, name: str, body: bytes, request_id: str) -> None:
        """Send a copy in the background; its reply is discarded, only counted."""

        async def send() -> None:
            try:
                deployment = self.state.read_deployment(endpoint, name)
            except NotFound:
                return
            started = time.perf_counter()
            model_status: int | None
            try:
                status = (await self.forwarder.forward(deployment, body, request_id)).status
                model_status = status
            except AzureError as error:
                status, model_status = error.status, _model_status(error)
            except Exception:  # a mirror must never disturb the live traffic
                logger.exception("mirroring a request of %s to %s failed", endpoint, name)
                return
            self._observe(deployment, status, started, mirrored=True, model_status=model_status)

        task = asyncio.get_running_loop().create_task(send())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _observe(
        self, deployment: Deployment, status: int, started: float, *, mirrored: bool, model_status: int | None
    ) -> None:
        seconds = time.perf_counter() - started
        answer = Answer(status, seconds, mirrored, model_status)
        self.metrics.observe(deployment.endpoint, deployment.name, answer)


async def _drain(request: Request) -> None:
    """Read the rest of the body so that the client gets the error reply, not a broken pipe."""
    try:
        async for _ in request.stream():
            pass
    except Exception:  # the stream was consumed already, or the client went away
        return


def _model_status(error: AzureError) -> int | None:
    """The status the model answered with (a model error's header), None when it was not reached."""
    value = error.headers.get(MODEL_ERROR_STATUS_HEADER, "")
    return int(value) if value.isdigit() else None


def _error_response(error: AzureError, reply_headers: dict[str, str]) -> Response:
    headers = {**reply_headers, **error.headers}
    return Response(error.to_json(), error.status, headers=headers, media_type="application/json")


def routes(route: ScoringRoute) -> list[Route]:
    """The scoring routes of `route` (its POST also reaches it by `front_door.ScoringFrontDoor`)."""
    return [
        Route("/online-endpoints/{endpoint}/score", route.score, methods=["POST"], name="score"),
        Route("/online-endpoints/{endpoint}/swagger.json", route.swagger, methods=["GET"], name="swagger"),
    ]
