"""The data plane: `POST /online-endpoints/{endpoint}/score`.

In order: the endpoint must exist (404); `Authorization: Bearer <key or token>` (401); the
deployment named in `azureml-model-deployment` whatever its traffic (404 if unknown), or one
chosen by the traffic weights with a smooth weighted round-robin, so that splits are exact over
any window (404 when no deployment has traffic); a JSON content type (415); a body within the
size limit (413). The body then goes to one of the deployment's ready instances (least busy
first), within the deployment's `request_timeout_ms` (408) and at most
2 x `max_concurrent_requests_per_instance` x `instance_count` pending requests (429). A model that
raises answers 424 with `ms-azureml-model-error-statuscode` and `ms-azureml-model-error-reason`;
no ready instance answers 503, an instance that breaks the connection 502. `mirror_traffic`
percent of the live (not header-targeted) requests are also sent to the mirror deployment in the
background; its replies are discarded and counted as mirrored.

Every reply carries `x-request-id` and, once a deployment is chosen, `azureml-model-deployment`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from typing import TYPE_CHECKING

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rollout.emulator.models import Deployment, EmulatorState, NotFound
from rollout.emulator.worker import ERROR_REASON_HEADER

if TYPE_CHECKING:
    from rollout.emulator.metrics import Metrics
    from rollout.emulator.workers import Instance, WorkerPool

# Azure documents no request size limit for managed online endpoints; 10 MiB keeps a runaway
# client from exhausting memory. Override with $ROLLOUT_EMULATOR_MAX_REQUEST_BYTES.
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_REQUEST_BYTES_ENV = "ROLLOUT_EMULATOR_MAX_REQUEST_BYTES"
DEPLOYMENT_HEADER = "azureml-model-deployment"
MODEL_ERROR_STATUS_HEADER = "ms-azureml-model-error-statuscode"
MODEL_ERROR_REASON_HEADER = "ms-azureml-model-error-reason"

logger = logging.getLogger(__name__)


class SmoothWeightedRoundRobin:
    """nginx's smooth weighted round-robin: over any window of sum(weights) picks, each name is
    picked exactly its weight times, spread as evenly as possible."""

    def __init__(self, weights: dict[str, int]) -> None:
        self.weights = {name: weight for name, weight in sorted(weights.items()) if weight > 0}
        self.total = sum(self.weights.values())
        self._current = dict.fromkeys(self.weights, 0)

    def pick(self) -> str | None:
        if not self.total:
            return None
        best, best_weight = "", None
        for name, weight in self.weights.items():
            current = self._current[name] + weight
            self._current[name] = current
            if best_weight is None or current > best_weight:
                best, best_weight = name, current
        self._current[best] -= self.total
        return best


class EvenSampler:
    """Takes exactly `percent` of calls, evenly spread (the k-th call is taken when
    floor(k * percent / 100) increases)."""

    def __init__(self, target: str, percent: int) -> None:
        self.target = target
        self.percent = percent
        self._calls = 0

    def take(self) -> bool:
        before = self._calls * self.percent // 100
        self._calls += 1
        return self._calls * self.percent // 100 > before


class ScoringRouter:
    """Routing state, pending-request counts and the shared HTTP client to the instances."""

    def __init__(
        self, state: EmulatorState, pool: WorkerPool, metrics: Metrics, max_request_bytes: int | None = None
    ) -> None:
        self.state = state
        self.pool = pool
        self.metrics = metrics
        self.max_request_bytes = max_request_bytes or int(
            os.environ.get(MAX_REQUEST_BYTES_ENV, DEFAULT_MAX_REQUEST_BYTES)
        )
        self._splits: dict[str, tuple[tuple, SmoothWeightedRoundRobin]] = {}
        self._mirrors: dict[str, tuple[tuple, EvenSampler | None]] = {}
        self._pending: dict[tuple[str, str], int] = {}
        self._background: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                trust_env=False,  # loopback only: never through a proxy from the environment
                timeout=httpx.Timeout(None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
            )
        return self._client

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()

    # Routing -----------------------------------------------------------------------------------

    def pick_live(self, endpoint: str, traffic: dict[str, int]) -> str | None:
        signature = tuple(sorted(traffic.items()))
        entry = self._splits.get(endpoint)
        if entry is None or entry[0] != signature:
            entry = self._splits[endpoint] = (signature, SmoothWeightedRoundRobin(traffic))
        return entry[1].pick()

    def pick_mirror(self, endpoint: str, mirror_traffic: dict[str, int]) -> str | None:
        signature = tuple(sorted(mirror_traffic.items()))
        entry = self._mirrors.get(endpoint)
        if entry is None or entry[0] != signature:
            targets = [(name, percent) for name, percent in signature if percent > 0]
            sampler = EvenSampler(*targets[0]) if targets else None
            entry = self._mirrors[endpoint] = (signature, sampler)
        sampler = entry[1]
        return sampler.target if sampler is not None and sampler.take() else None

    # The route ---------------------------------------------------------------------------------

    async def score(self, request: Request) -> Response:
        headers = request.headers
        request_id = headers.get("x-request-id") or headers.get("x-ms-client-request-id") or str(uuid.uuid4())
        reply_headers = {"x-request-id": request_id}
        if "x-ms-client-request-id" in headers:
            reply_headers["x-ms-client-request-id"] = headers["x-ms-client-request-id"]
        endpoint_name = request.path_params["endpoint"]
        try:
            endpoint = self.state.get_endpoint(endpoint_name)
        except NotFound:
            return _error(
                404, "EndpointNotFound", f"Endpoint '{endpoint_name}' does not exist.", reply_headers
            )
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.state.check_credential(endpoint.name, token.strip()):
            return _error(
                401,
                "Unauthorized",
                "Missing or invalid credential: send 'Authorization: Bearer <endpoint key or token>'.",
                reply_headers,
            )

        mirror_name = None
        target = headers.get(DEPLOYMENT_HEADER, "").strip()
        if target:
            try:
                deployment = self.state.get_deployment(endpoint.name, target.lower())
            except NotFound:
                return _error(
                    404,
                    "DeploymentNotFound",
                    f"Deployment '{target}' does not exist in endpoint '{endpoint.name}'.",
                    reply_headers,
                )
        else:
            name = self.pick_live(endpoint.name, endpoint.traffic)
            if name is None:
                return _error(
                    404,
                    "NoTraffic",
                    f"Endpoint '{endpoint.name}' has no deployment with traffic; set its traffic, or name "
                    f"a deployment in the '{DEPLOYMENT_HEADER}' header.",
                    reply_headers,
                )
            try:
                deployment = self.state.get_deployment(endpoint.name, name)
            except NotFound:
                return _error(
                    404, "DeploymentNotFound", f"Deployment '{name}' does not exist.", reply_headers
                )
            if endpoint.mirror_traffic:
                mirror_name = self.pick_mirror(endpoint.name, endpoint.mirror_traffic)
        reply_headers[DEPLOYMENT_HEADER] = deployment.name

        started = time.perf_counter()
        response = await self._check_and_read(request, reply_headers)
        if isinstance(response, Response):
            self._observe(deployment, response.status_code, started, mirrored=False)
            return response
        body = response
        if mirror_name is not None:
            self._mirror(endpoint.name, mirror_name, body, request_id)
        response = await self.forward(deployment, body, request_id, reply_headers)
        self._observe(deployment, response.status_code, started, mirrored=False)
        return response

    async def _check_and_read(self, request: Request, reply_headers: dict[str, str]) -> bytes | Response:
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            await _drain(request)
            return _error(
                415,
                "UnsupportedMediaType",
                f"Content type '{media_type or '(none)'}' is not supported; send 'application/json'.",
                reply_headers,
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
            return _error(
                413,
                "PayloadTooLarge",
                f"The request body is larger than the limit of {limit} bytes.",
                reply_headers,
            )
        return b"".join(chunks)

    async def forward(
        self, deployment: Deployment, body: bytes, request_id: str, reply_headers: dict[str, str]
    ) -> Response:
        """Send the body to a ready instance of the deployment and map its reply to Azure's."""
        key = (deployment.endpoint.lower(), deployment.name)
        settings = deployment.request_settings
        limit = 2 * settings.max_concurrent_requests_per_instance * max(1, deployment.instance_count)
        pending = self._pending.get(key, 0)
        if pending >= limit:
            return _error(
                429,
                "TooManyRequests",
                f"Deployment '{deployment.name}' has {pending} pending requests, the most it takes "
                f"(2 x max_concurrent_requests_per_instance x instance_count = {limit}).",
                {**reply_headers, MODEL_ERROR_REASON_HEADER: "too_many_pending_request"},
            )
        self._pending[key] = pending + 1
        timeout = settings.request_timeout_ms / 1000
        unreachable: set[int] = set()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    instance = self._least_busy(deployment, unreachable)
                    if instance is None:
                        return self._unavailable(deployment, reply_headers)
                    try:
                        reply = await self._send(
                            instance, settings.max_concurrent_requests_per_instance, body, request_id
                        )
                        break
                    except httpx.ConnectError:
                        # The process is gone (the pool has not seen it exit yet): the request never
                        # reached it, so another instance may take it.
                        unreachable.add(id(instance))
        except TimeoutError:
            return _error(
                408,
                "RequestTimeout",
                f"The deployment did not answer within request_timeout_ms ({settings.request_timeout_ms} ms).",
                reply_headers,
            )
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            return _error(
                502,
                "BadGateway",
                f"The instance of deployment '{deployment.name}' failed to answer: {exc!r}",
                reply_headers,
            )
        finally:
            self._pending[key] -= 1
        if reply.status_code == 200:
            return Response(reply.content, 200, headers=reply_headers, media_type="application/json")
        if reply.status_code == 400:
            return Response(reply.content, 400, headers=reply_headers, media_type="application/json")
        reason = reply.headers.get(ERROR_REASON_HEADER, "model_error")
        return _error(
            424,
            "ModelError",
            f"The model failed (status {reply.status_code}): {_message(reply.content)}",
            {
                **reply_headers,
                MODEL_ERROR_STATUS_HEADER: str(reply.status_code),
                MODEL_ERROR_REASON_HEADER: reason,
            },
        )

    def _least_busy(self, deployment: Deployment, unreachable: set[int]) -> Instance | None:
        instances = self.pool.ready_instances(deployment.endpoint, deployment.name)
        if len(instances) == 1 and not unreachable:
            return instances[0]
        candidates = [instance for instance in instances if id(instance) not in unreachable]
        return min(candidates, key=lambda instance: instance.in_flight) if candidates else None

    async def _send(
        self, instance: Instance, concurrency: int, body: bytes, request_id: str
    ) -> httpx.Response:
        """POST the body to the instance, at most `concurrency` at a time (the others queue)."""
        gate = instance.gate
        if gate is None:
            gate = instance.gate = asyncio.Semaphore(concurrency)
        instance.in_flight += 1
        try:
            async with gate:
                return await self.client.post(
                    instance.url + "/score",
                    content=body,
                    headers={"content-type": "application/json", "x-request-id": request_id},
                )
        finally:
            instance.in_flight -= 1

    def _unavailable(self, deployment: Deployment, reply_headers: dict[str, str]) -> Response:
        readiness = self.pool.readiness(deployment.endpoint, deployment.name)
        detail = f": {readiness.reason}" if readiness.reason else ""
        return _error(
            503,
            "ServiceUnavailable",
            f"Deployment '{deployment.name}' has no ready instance ({readiness.state}{detail}).",
            reply_headers,
        )

    def _mirror(self, endpoint: str, name: str, body: bytes, request_id: str) -> None:
        """Send a copy in the background; its reply is discarded, only counted."""

        async def send() -> None:
            try:
                deployment = self.state.get_deployment(endpoint, name)
                started = time.perf_counter()
                reply = await self.forward(deployment, body, request_id, {})
                self._observe(deployment, reply.status_code, started, mirrored=True)
            except NotFound:
                return
            except Exception:  # a mirror must never disturb the live traffic
                logger.exception("mirroring a request of %s to %s failed", endpoint, name)

        task = asyncio.get_running_loop().create_task(send())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _observe(self, deployment: Deployment, status: int, started: float, *, mirrored: bool) -> None:
        seconds = time.perf_counter() - started
        self.metrics.observe(deployment.endpoint, deployment.name, status, seconds, mirrored)


async def _drain(request: Request) -> None:
    """Read the rest of the body so that the client gets the error reply, not a broken pipe."""
    try:
        async for _ in request.stream():
            pass
    except Exception:  # the stream was consumed already, or the client went away
        return


def _message(content: bytes) -> str:
    try:
        return str(json.loads(content)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return content.decode(errors="replace")[:500]


def _error(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status, headers=headers, media_type="application/json")


def routes(
    state: EmulatorState, pool: WorkerPool, metrics: Metrics, max_request_bytes: int | None = None
) -> list[Route]:
    """The scoring route, bound to the emulator's state, worker pool and metrics."""
    router = ScoringRouter(state, pool, metrics, max_request_bytes)
    return [Route("/online-endpoints/{endpoint}/score", router.score, methods=["POST"], name="score")]
