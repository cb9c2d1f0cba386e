"""Sending a scoring request to one of a deployment's ready instances, and mapping the reply as
Azure's front end does.

The least busy ready instance takes it, at most `max_concurrent_requests_per_instance` at a time
per instance (the others queue), within the deployment's `request_timeout_ms` (408) and at most
2 x `max_concurrent_requests_per_instance` x `instance_count` pending requests (429). The instance
is Azure's inference server: its reply of 200 or 400 passes through, body and all; any other is the
model failing (424 with `ms-azureml-model-error-statuscode` and `ms-azureml-model-error-reason`,
the server's message in Azure's error shape). Either way the server's own headers
(`SERVER_HEADERS`: whether the scoring script failed, its run time, the server's version) reach the
client. No ready instance answers 503; an instance that breaks the connection 502. A deployment
that is being restored after the emulator restarted (its instances starting) is not refused: its
requests wait for a ready instance (within `request_timeout_ms`, counted as pending), as on Azure a
deployment that succeeded keeps serving; if its instances fail, the answer is the 503 of a failed
instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.parse
from typing import TYPE_CHECKING, NamedTuple

from rollout.emulator.data.transport import (
    InstanceBroke,
    InstanceReply,
    InstanceTransport,
    InstanceUnreachable,
)
from rollout.emulator.errors import (
    BadGateway,
    ModelError,
    NotFound,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
)
from rollout.emulator.resources import Deployment

if TYPE_CHECKING:
    from rollout.emulator.instances.pool import InstancePool
    from rollout.emulator.instances.supervisor import Instance

MODEL_ERROR_STATUS_HEADER = "ms-azureml-model-error-statuscode"
MODEL_ERROR_REASON_HEADER = "ms-azureml-model-error-reason"
RUN_MS_HEADER = "x-ms-run-fn-exec-ms"
# azmlinfsrv's reply headers that reach the client (the router sets `x-request-id` itself, to the
# value it sent the instance, which the server echoes).
SERVER_HEADERS = (RUN_MS_HEADER, "x-ms-run-function-failed", "x-ms-server-version", "x-ms-request-id")
SWAGGER_TIMEOUT_SECONDS = 10.0
RESTORE_POLL_SECONDS = 0.02  # how often a request held for a restoring deployment looks for an instance


class Reply(NamedTuple):
    """An instance's answer: its status, JSON body and the server's headers (`SERVER_HEADERS`)."""

    status: int
    content: bytes
    headers: dict[str, str]


class Forwarder:
    """Pending-request counts per deployment and the keep-alive connections to the instances."""

    def __init__(self, pool: InstancePool) -> None:
        self.pool = pool
        self._pending: dict[tuple[str, str], int] = {}
        self.transport = InstanceTransport()

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def swagger(self, deployment: Deployment, version: str | None) -> bytes:
        """The swagger document a ready instance's server makes of its scoring script's input and
        output types (`GET /swagger.json?version=...`)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SWAGGER_TIMEOUT_SECONDS):
                await self._wait_while_restoring(deployment)
        instances = self.pool.ready_instances(deployment.endpoint, deployment.name)
        if not instances:
            raise self._unavailable(deployment)
        path = "/swagger.json" + (f"?{urllib.parse.urlencode({'version': version})}" if version else "")
        try:
            async with asyncio.timeout(SWAGGER_TIMEOUT_SECONDS):
                reply = await self.transport.request(_port(instances[0]), "GET", path, {})
        except (InstanceUnreachable, InstanceBroke, TimeoutError) as exc:
            raise BadGateway(
                f"The instance of deployment '{deployment.name}' failed to answer: {exc}"
            ) from None
        if reply.status != 200:
            raise NotFound(f"The deployment's server has no such swagger document: {_message(reply.content)}")
        return reply.content

    async def forward(self, deployment: Deployment, body: bytes, request_id: str) -> Reply:
        """The status and JSON body of a ready instance's successful or 400 reply; raises AzureError."""
        key = (deployment.endpoint.lower(), deployment.name)
        settings = deployment.request_settings
        limit = 2 * settings.max_concurrent_requests_per_instance * max(1, deployment.instance_count)
        pending = self._pending.get(key, 0)
        if pending >= limit:
            raise TooManyRequests(
                f"Deployment '{deployment.name}' has {pending} pending requests, the most it takes "
                f"(2 x max_concurrent_requests_per_instance x instance_count = {limit}).",
                headers={MODEL_ERROR_REASON_HEADER: "too_many_pending_request"},
            )
        self._pending[key] = pending + 1
        timeout = settings.request_timeout_ms / 1000
        unreachable: set[int] = set()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    instance = self._least_busy(deployment, unreachable)
                    if instance is None and not unreachable and await self._wait_while_restoring(deployment):
                        continue
                    if instance is None:
                        raise self._unavailable(deployment)
                    try:
                        reply = await self._send(
                            instance, settings.max_concurrent_requests_per_instance, body, request_id
                        )
                        break
                    except InstanceUnreachable:
                        # The process is gone (the pool has not seen it exit yet): the request never
                        # reached it, so another instance may take it.
                        unreachable.add(id(instance))
        except TimeoutError:
            restoring = (
                " (its instances are still starting after the emulator restarted)"
                if self.pool.is_restoring(deployment.endpoint, deployment.name)
                else ""
            )
            raise RequestTimeout(
                f"The deployment did not answer within request_timeout_ms ({settings.request_timeout_ms} ms)"
                f"{restoring}."
            ) from None
        except InstanceBroke as exc:
            raise BadGateway(
                f"The instance of deployment '{deployment.name}' failed to answer: {exc}"
            ) from None
        finally:
            self._pending[key] -= 1
        passed = {name: reply.headers[name] for name in SERVER_HEADERS if name in reply.headers}
        if reply.status in (200, 400):
            return Reply(reply.status, reply.content, passed)
        raise ModelError(
            f"The model failed (status {reply.status}): {_message(reply.content)}",
            headers={
                **passed,
                MODEL_ERROR_STATUS_HEADER: str(reply.status),
                MODEL_ERROR_REASON_HEADER: "model_error",
            },
        )

    async def _wait_while_restoring(self, deployment: Deployment) -> bool:
        """Wait while the deployment is being restored and has no ready instance; whether it has
        one now (False at once for a deployment that is not restoring, or whose instances failed).
        The caller bounds the wait."""
        endpoint, name = deployment.endpoint, deployment.name
        while not self.pool.ready_instances(endpoint, name):
            if (
                not self.pool.is_restoring(endpoint, name)
                or self.pool.readiness(endpoint, name).state != "starting"
            ):
                return False
            await asyncio.sleep(RESTORE_POLL_SECONDS)
        return True

    def _least_busy(self, deployment: Deployment, unreachable: set[int]) -> Instance | None:
        instances = self.pool.ready_instances(deployment.endpoint, deployment.name)
        if len(instances) == 1 and not unreachable:
            return instances[0]
        candidates = [instance for instance in instances if id(instance) not in unreachable]
        return min(candidates, key=lambda instance: instance.in_flight) if candidates else None

    async def _send(
        self, instance: Instance, concurrency: int, body: bytes, request_id: str
    ) -> InstanceReply:
        """POST the body to the instance, at most `concurrency` at a time (the others queue)."""
        gate = instance.gate
        if gate is None:
            gate = instance.gate = asyncio.Semaphore(concurrency)
        instance.in_flight += 1
        try:
            async with gate:
                return await self.transport.request(
                    _port(instance),
                    "POST",
                    "/score",
                    {"Content-Type": "application/json", "x-request-id": request_id},
                    body,
                )
        finally:
            instance.in_flight -= 1

    def _unavailable(self, deployment: Deployment) -> ServiceUnavailable:
        readiness = self.pool.readiness(deployment.endpoint, deployment.name)
        detail = f": {readiness.reason}" if readiness.reason else ""
        return ServiceUnavailable(
            f"Deployment '{deployment.name}' has no ready instance ({readiness.state}{detail})."
        )


def _port(instance: Instance) -> int:
    if instance.port is None:
        raise InstanceUnreachable("the instance has no process")
    return instance.port


def _message(content: bytes) -> str:
    """The server's message (`{"message": ...}`), else the body's start."""
    try:
        return str(json.loads(content)["message"])
    except (ValueError, KeyError, TypeError):
        return content.decode(errors="replace")[:500]
