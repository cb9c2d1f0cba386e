"""Provisioning: turning accepted ARM changes into running (or stopped) deployment instances.

A deployment PUT is Creating/Updating until its model version resolves in the registry, its
environment is built from the model's own dependencies (as Azure's container installs them when it
starts) and its instances report ready (Succeeded), or until any of these fails (Failed, the reason
noted in the deployment's logs; a build that fails leaves the instances already serving as they
are). A deployment with a scoring script (`code_configuration`) runs its code version's folder in
its own environment's build (`scoring_code` reads them from the workspace's assets), with its model
if it names one.
Deletes stop the instances, then forget the resource. Each change reports its outcome to its
long-running operation, so SDK polling sees the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Protocol

from rollout.emulator.control.lro import Operation, Operations
from rollout.emulator.control.model_registry import ModelRegistry, RegisteredVersion
from rollout.emulator.control.timing import Change, Timing
from rollout.emulator.environments import EnvironmentBuildFailed, EnvironmentNotEmulated, EnvironmentProblem
from rollout.emulator.errors import (
    AzureError,
    BadArgument,
    Canceled,
    ImageBuildFailure,
    InternalServerError,
    NotFound,
    ProvisioningUserError,
    ResourceNotReady,
)
from rollout.emulator.instances.runtime import CodeSource, Runtime
from rollout.emulator.resources import Deployment, parse_model_reference
from rollout.emulator.state import EmulatorState

log = logging.getLogger("rollout.emulator")

READINESS_POLL_SECONDS = 0.05
_ASSET_ID = re.compile(r"^/subscriptions/.*/(?:codes|environments|models)/([^/]+)/versions/([^/]+)$")


class Readiness(Protocol):
    @property
    def state(self) -> str: ...  # "starting" | "ready" | "failed"
    @property
    def reason(self) -> str: ...


class Pool(Protocol):
    """What provisioning needs from the instance pool (`rollout.emulator.instances.pool.InstancePool`)."""

    def prepare(
        self, deployment: Deployment, model_files: Path | None, code: CodeSource | None = None
    ) -> Runtime: ...
    def start(self, deployment: Deployment, runtime: Runtime) -> None: ...
    def readiness(self, endpoint: str, name: str) -> Readiness: ...
    def restoring(self, endpoint: str, name: str) -> None: ...
    def restored(self, endpoint: str, name: str) -> None: ...
    def stop(self, endpoint: str, name: str) -> None: ...
    def note(self, endpoint: str, name: str, text: str) -> None: ...
    def logs(
        self, endpoint: str, name: str, lines: int | None = None, container_type: str | None = None
    ) -> str: ...
    def close(self) -> None: ...


class Code(Protocol):
    """Where a code deployment's folder and environment come from (`scoring_code.ScoringCode`)."""

    def resolve(self, deployment: Deployment) -> CodeSource: ...


class Provisioner:
    """Runs the background side of deployment and endpoint changes on the server's event loop."""

    def __init__(  # noqa: PLR0913 (the server's parts it drives)
        self,
        state: EmulatorState,
        pool: Pool,
        registry: ModelRegistry,
        operations: Operations,
        timing: Timing | None = None,
        code: Code | None = None,
    ) -> None:
        self.code = code
        self.state = state
        self.pool = pool
        self.registry = registry
        self.operations = operations
        self.timing = timing or Timing()
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[None]] = set()

    # Deployments -------------------------------------------------------------------------------

    def deploy(self, deployment: Deployment, operation: Operation | None) -> None:
        """Resolve the model, (re)start the instances and report readiness, replacing any earlier run."""
        key = _key(deployment.endpoint, deployment.name)
        earlier = self._tasks.pop(key, None)
        if earlier is not None:
            earlier.cancel()
        task = asyncio.get_running_loop().create_task(self._provision(deployment, operation))
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def delete_deployment(self, endpoint: str, name: str, operation: Operation) -> None:
        self._spawn(self._delete_deployment(endpoint, name, operation))

    def finish_endpoint(self, endpoint: str, operation: Operation, change: Change) -> None:
        """Complete an accepted endpoint change (creation or update) after the timing profile's duration."""
        self._spawn(self._finish_endpoint(endpoint, operation, change))

    def seconds(self, change: Change) -> float:
        """How long `change` takes under the emulator's timing profile."""
        return self.timing.seconds(change)

    def delete_endpoint(self, endpoint: str, operation: Operation) -> None:
        self._spawn(self._delete_endpoint(endpoint, operation))

    async def restore(self) -> None:
        """Bring persisted resources back: finish deletes, restart instances of live deployments
        (the pool knows them as restoring until they are ready or failed, so that their requests
        wait for them)."""
        for endpoint in self.state.list_endpoints():
            if endpoint.provisioning_state == "Deleting":
                self.delete_endpoint(endpoint.name, self.operations.start())
                continue
            if endpoint.provisioning_state in ("Creating", "Updating"):
                # A change accepted before the restart: its pending settings were not kept.
                self.state.finish_endpoint_change(endpoint.name)
            for deployment in self.state.list_deployments(endpoint.name):
                if deployment.provisioning_state == "Deleting":
                    self.delete_deployment(endpoint.name, deployment.name, self.operations.start())
                elif deployment.provisioning_state == "Failed":
                    self.pool.note(
                        endpoint.name,
                        deployment.name,
                        f"Not restarted: the deployment failed earlier ({deployment.failure_reason}).",
                    )
                else:
                    self.pool.note(
                        endpoint.name, deployment.name, "Emulator restarted; starting instances again."
                    )
                    self.pool.restoring(endpoint.name, deployment.name)
                    self.deploy(deployment, None)

    async def close(self) -> None:
        tasks = [*self._tasks.values(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _provision(self, deployment: Deployment, operation: Operation | None) -> None:
        endpoint, name = deployment.endpoint, deployment.name
        change: Change = (
            "deployment_create" if deployment.provisioning_state == "Creating" else "deployment_update"
        )
        done_at = asyncio.get_running_loop().time() + (self.timing.seconds(change) if operation else 0.0)
        ended = True  # a restore ends with every outcome but a cancellation (a newer run takes over)
        try:
            files: Path | None = None
            if deployment.model_uri:
                found = await self._resolve_model(deployment)
                if isinstance(found, str):
                    self._fail(endpoint, name, operation, ProvisioningUserError, found)
                    return
                files = await asyncio.to_thread(self.registry.local_files, found)
            try:
                code = await asyncio.to_thread(self._code, deployment)
                runtime = await asyncio.to_thread(self.pool.prepare, deployment, files, code)
            except EnvironmentProblem as problem:
                self._fail(endpoint, name, operation, _environment_error(problem), problem.message)
                return
            self.pool.start(deployment, runtime)
            while True:
                readiness = self.pool.readiness(endpoint, name)
                if readiness.state == "ready":
                    await _sleep_until(done_at)  # Azure takes minutes even when the model is quick
                    self.state.set_deployment_state(endpoint, name, "Succeeded")
                    if operation is not None:
                        self.operations.succeed(operation)
                    log.info("deployment %s/%s is ready", endpoint, name)
                    return
                if readiness.state == "failed":
                    self._fail(endpoint, name, operation, ResourceNotReady, readiness.reason)
                    return
                await asyncio.sleep(READINESS_POLL_SECONDS)
        except NotFound:
            # Deleted while provisioning; the delete reports its own outcome.
            if operation is not None:
                self.operations.fail(operation, NotFound(f"Deployment '{name}' was deleted."))
        except asyncio.CancelledError:
            ended = False
            if operation is not None:
                self.operations.fail(operation, Canceled(f"Deployment '{name}' was changed again."))
            raise
        except Exception as error:  # a bug or an unexpected registry error must not leave it Creating
            log.exception("provisioning %s/%s failed", endpoint, name)
            self._fail(endpoint, name, operation, InternalServerError, f"Provisioning failed: {error}")
        finally:
            if ended:
                self.pool.restored(endpoint, name)

    def _code(self, deployment: Deployment) -> CodeSource | None:
        """A code deployment's folder and environment (noted in its logs); None without a script."""
        if deployment.code_id is None:
            return None
        if self.code is None:
            raise EnvironmentNotEmulated("this emulator was started without code assets")
        model = f", model {_short(deployment.model)}" if deployment.model else ""
        self.pool.note(
            deployment.endpoint,
            deployment.name,
            f"Scoring script {deployment.scoring_script} of code {_short(deployment.code_id)}, "
            f"environment {_short(deployment.environment or '')}{model}.",
        )
        return self.code.resolve(deployment)

    async def _resolve_model(self, deployment: Deployment) -> RegisteredVersion | str:
        """The deployment's model version, or why it does not exist."""
        name, version = parse_model_reference(deployment.model_uri)
        found = await asyncio.to_thread(self.registry.get_version, name, version)
        if found is None:
            reason = (
                f"Model azureml:{name}:{version} was not found: the registry has no ready version {version} "
                f"of model '{name}'. Register it (MLflow) or deploy an existing version."
            )
            self.pool.note(deployment.endpoint, deployment.name, reason)
            return reason
        self.pool.note(
            deployment.endpoint,
            deployment.name,
            f"Model azureml:{name}:{version} resolved to {deployment.model_uri}"
            f" (artifacts at {found.source}).",
        )
        return found

    def _fail(
        self, endpoint: str, name: str, operation: Operation | None, error: type[AzureError], reason: str
    ) -> None:
        self.pool.note(endpoint, name, f"Deployment failed: {reason}")
        self.state.set_deployment_state(endpoint, name, "Failed", reason)
        if operation is not None:
            message = (
                f"Deployment '{name}' of endpoint '{endpoint}' failed: {reason} "
                "See its logs (online_deployments.get_logs) for details."
            )
            self.operations.fail(operation, error(message))
        log.warning("deployment %s/%s failed: %s", endpoint, name, reason)

    async def _finish_endpoint(self, endpoint: str, operation: Operation, change: Change) -> None:
        try:
            await asyncio.sleep(self.timing.seconds(change))
            self.state.finish_endpoint_change(endpoint)
        except AzureError as error:  # the change no longer fits (a deployment went away meanwhile)
            self.operations.fail(operation, error)
        except Exception as error:
            log.exception("updating endpoint %s failed", endpoint)
            self.operations.fail(operation, InternalServerError(f"Updating failed: {error}"))
        else:
            self.operations.succeed(operation)

    async def _delete_deployment(self, endpoint: str, name: str, operation: Operation) -> None:
        try:
            await asyncio.sleep(self.timing.seconds("deployment_delete"))
            await self._stop_instances(endpoint, name)
            self.state.remove_deployment(endpoint, name)
        except Exception as error:
            log.exception("deleting %s/%s failed", endpoint, name)
            self.operations.fail(operation, InternalServerError(f"Deleting failed: {error}"))
        else:
            self.operations.succeed(operation)

    async def _delete_endpoint(self, endpoint: str, operation: Operation) -> None:
        try:
            await asyncio.sleep(self.timing.seconds("endpoint_delete"))
            for deployment in self.state.list_deployments(endpoint):
                await self._stop_instances(endpoint, deployment.name)
            self.state.remove_endpoint(endpoint)
        except Exception as error:
            log.exception("deleting %s failed", endpoint)
            self.operations.fail(operation, InternalServerError(f"Deleting failed: {error}"))
        else:
            self.operations.succeed(operation)

    async def _stop_instances(self, endpoint: str, name: str) -> None:
        await self._cancel(endpoint, name)
        await asyncio.to_thread(self.pool.stop, endpoint, name)

    async def _cancel(self, endpoint: str, name: str) -> None:
        task = self._tasks.pop(_key(endpoint, name), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]


async def _sleep_until(deadline: float) -> None:
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining > 0:
        await asyncio.sleep(remaining)


def _environment_error(problem: EnvironmentProblem) -> type[AzureError]:
    """Azure's error for an environment that cannot be had: the build's own code (`ResourceNotReady`
    for a no-code MLflow model, whose container installs its packages), `BadArgument` for what the
    emulator does not build."""
    if isinstance(problem, EnvironmentNotEmulated):
        return BadArgument
    if isinstance(problem, EnvironmentBuildFailed) and problem.azure_code == ImageBuildFailure.code:
        return ImageBuildFailure
    return ResourceNotReady


def _short(asset_id: str) -> str:
    """`azureml:<name>:<version>` for the ARM id of a workspace asset version (other ids as they are)."""
    return _ASSET_ID.sub(r"azureml:\1:\2", asset_id)


def _key(endpoint: str, name: str) -> tuple[str, str]:
    return endpoint.lower(), name.lower()
