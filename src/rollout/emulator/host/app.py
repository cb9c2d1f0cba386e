"""Assembles the emulator's app: the control plane (ARM), the data plane (scoring), metrics,
`/healthz` and `/openapi.json`, over one state, one instance pool and one metrics registry.

On startup it restores the state from SQLite and starts the instances of every deployment again,
and warms the ready processes of the cached environments used most recently (in the background,
`config.warm_environments` of them); on shutdown it stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from rollout import __version__
from rollout.emulator import core_quota
from rollout.emulator.asset_state import AssetState
from rollout.emulator.constants import LOCATION, RESOURCE_GROUP, SUBSCRIPTION_ID, WORKSPACE
from rollout.emulator.control import assets as asset_routes
from rollout.emulator.control import cloud_metadata, openapi, permissions, surface_routes, usages
from rollout.emulator.control import datastores as datastore_routes
from rollout.emulator.control import routes as control_routes
from rollout.emulator.control.artifact_store import ArtifactStore
from rollout.emulator.control.artifacts import ArtifactApi
from rollout.emulator.control.assets import AssetApi
from rollout.emulator.control.azure_monitor.route import MonitorApi
from rollout.emulator.control.blob_lease_api import BlobLeaseApi
from rollout.emulator.control.datastores import DatastoreApi
from rollout.emulator.control.guard import Guard, error_response
from rollout.emulator.control.handlers import ArmApi
from rollout.emulator.control.lease_table import LeaseTable
from rollout.emulator.control.lro import Operations
from rollout.emulator.control.mlflow_surface import MlflowSurface
from rollout.emulator.control.model_registry import ModelRegistry
from rollout.emulator.control.principals import Principals
from rollout.emulator.control.provisioning import Provisioner
from rollout.emulator.control.scoring_code import ScoringCode
from rollout.emulator.control.usages import UsagesApi
from rollout.emulator.control.workspace import Workspace
from rollout.emulator.data import metrics as metrics_module
from rollout.emulator.data import scoring
from rollout.emulator.data.front_door import ScoringFrontDoor
from rollout.emulator.environments import EnvironmentCache, EnvironmentProblem
from rollout.emulator.errors import MethodNotAllowed, NotFound
from rollout.emulator.host.body_limit import BodyLimit
from rollout.emulator.host.config import ServerConfig
from rollout.emulator.host.management_token import ensure_management_token
from rollout.emulator.identities import IdentityFile
from rollout.emulator.instances.pool import InstancePool
from rollout.emulator.private_dir import ensure_private_dir
from rollout.emulator.quota_state import QuotaState
from rollout.emulator.store import Store

log = logging.getLogger("rollout.emulator")


def create_app(config: ServerConfig) -> ASGIApp:
    """The emulator's app: state restored from the state directory, an instance pool, a metrics
    registry; scoring requests enter by their front door (`ScoringFrontDoor`)."""
    state_dir = ensure_private_dir(config.state_dir)
    store = Store(state_dir)
    state = QuotaState(
        store,
        limits=functools.partial(core_quota.limits, state_dir),
        token_ttl=config.token_ttl,
        instance_quota=config.instance_quota,
    )
    assets = AssetState(store)
    environments = EnvironmentCache()
    pool = InstancePool(
        log_dir=ensure_private_dir(state_dir / "logs"),
        run_dir=ensure_private_dir(state_dir / "instances"),
        environments=environments,
    )
    metrics = metrics_module.Metrics()
    registry = ModelRegistry(config.registry_uri, downloads_dir=state_dir / "models")
    operations = Operations()
    workspace = Workspace(
        subscription=SUBSCRIPTION_ID,
        resource_group=RESOURCE_GROUP,
        name=WORKSPACE,
        location=LOCATION,
        workspace_id=str(uuid.uuid5(uuid.NAMESPACE_URL, str(state_dir.resolve()))),
        registry_uri=config.registry_uri,
    )
    management_token = ensure_management_token(state_dir)
    principals = Principals(management_token, IdentityFile(state_dir))
    guard = Guard(workspace, principals)
    artifact_store = ArtifactStore(ensure_private_dir(state_dir / "blobs"), management_token, config.url)
    code = ScoringCode(assets, artifact_store, workspace.name)
    provisioner = Provisioner(state, pool, registry, operations, config.timing, code)
    arm = ArmApi(
        state=state,
        assets=assets,
        provisioner=provisioner,
        registry=registry,
        operations=operations,
        workspace=workspace,
        base_url=config.url,
        poll_interval_ms=config.poll_interval_ms,
    )

    async def healthz(request: Request) -> Response:
        """Liveness of the emulator: 200 with its URL and registry once it serves requests; its
        `status` is "restoring" while deployments brought back from its state are starting (each in
        `restored` with its state), then "ok"."""
        progress = pool.restore_progress()
        restoring = any(deployment.restoring for deployment in progress)
        return JSONResponse(
            {
                "status": "restoring" if restoring else "ok",
                "url": config.url,
                "registry_uri": config.registry_uri,
                "pid": os.getpid(),
                "restored": [
                    {"endpoint": d.endpoint, "deployment": d.name, "state": d.state, "reason": d.reason}
                    for d in progress
                ],
            }
        )

    async def openapi_json(request: Request) -> Response:
        """This OpenAPI 3 description of every route the emulator serves."""
        return JSONResponse(openapi.document(app.routes, config.url, __version__))

    scoring_route = scoring.ScoringRoute(state, pool, metrics)
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
        *cloud_metadata.routes(config.url),
        *control_routes.routes(arm, MonitorApi(state, workspace, metrics.history), guard),
        *permissions.routes(guard),
        *usages.routes(UsagesApi(state, workspace, state_dir), guard),
        *asset_routes.routes(
            AssetApi(assets=assets, blobs=artifact_store, shapes=arm.shapes, workspace=workspace), guard
        ),
        *datastore_routes.routes(
            DatastoreApi(workspace=workspace, created=artifact_store.root.stat().st_mtime), guard
        ),
        *surface_routes.routes(
            MlflowSurface(registry, artifact_store),
            ArtifactApi(artifact_store),
            BlobLeaseApi(artifact_store, LeaseTable(artifact_store.root / "leases.json"), principals),
            guard,
        ),
        *scoring.routes(scoring_route),
        *metrics_module.routes(metrics),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # a daemon thread: a stop soon after the start need not wait for MLflow's import to finish
        threading.Thread(target=registry.warm_up, name="registry-warm-up", daemon=True).start()
        await provisioner.restore()

        def warm() -> None:
            try:
                warmed = pool.warm_recent(config.warm_environments)
            except (OSError, RuntimeError, EnvironmentProblem) as error:  # stopping, or no interpreter
                log.warning("warming the cached environments failed: %s", error)
                return
            if warmed:
                log.info("warming the ready processes of environments %s", ", ".join(warmed))

        threading.Thread(target=warm, name="warm-environments", daemon=True).start()
        log.info(
            "emulator serving %s (state %s, registry %s, timing %s, instance quota %s)",
            config.url,
            state_dir,
            config.registry_uri,
            config.timing.describe(),
            config.instance_quota or "none",
        )
        try:
            yield
        finally:
            await provisioner.close()
            await asyncio.to_thread(pool.close)
            store.close()
            log.info("emulator stopped")

    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimit)],
        lifespan=lifespan,
        exception_handlers={404: unknown_route, 405: unsupported_method},
    )
    return ScoringFrontDoor(app, scoring_route)


async def unknown_route(request: Request, exc: Exception) -> Response:
    """A path the emulator does not serve: Azure's JSON error shape, 404 NotFound."""
    if isinstance(exc, HTTPException) and exc.detail and exc.detail != "Not Found":
        message = str(exc.detail)
    else:
        message = f"The resource '{request.url.path}' was not found (the emulator serves no such route)."
    return error_response(NotFound(message))


async def unsupported_method(request: Request, exc: Exception) -> Response:
    """A method the route does not support: Azure's JSON error shape, 405 MethodNotAllowed."""
    error = MethodNotAllowed(
        f"The HTTP method '{request.method}' is not supported on the resource '{request.url.path}'."
    )
    return error_response(error)
