"""Assembles the emulator: one HTTPS server on 127.0.0.1 serving the control plane (ARM), the data
plane (scoring), metrics, `/healthz` and `/openapi.json`.

On startup it restores the state from SQLite and starts the instances of every deployment again;
on shutdown it stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rollout import __version__
from rollout.emulator import openapi
from rollout.emulator.access import ensure_management_token
from rollout.emulator.arm import ArmApi, Workspace
from rollout.emulator.constants import (
    HOST,
    LOCATION,
    PORT_TAKEN_MARK,
    RESOURCE_GROUP,
    SUBSCRIPTION_ID,
    WORKSPACE,
)
from rollout.emulator.lro import Operations
from rollout.emulator.models import DEFAULT_TOKEN_TTL_SECONDS, EmulatorState
from rollout.emulator.provisioning import Provisioner
from rollout.emulator.registry import ModelRegistry
from rollout.emulator.store import Store, ensure_private_dir
from rollout.emulator.tls import ensure_certificates

log = logging.getLogger("rollout.emulator")

LOCK_FILE = "emulator.lock"


@dataclass(frozen=True)
class ServerConfig:
    """How one emulator runs."""

    state_dir: Path
    registry_uri: str
    port: int
    poll_interval_ms: int = 200
    token_ttl: float = DEFAULT_TOKEN_TTL_SECONDS

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"


def create_app(config: ServerConfig) -> Starlette:
    """The emulator's app: state restored from the state directory, one worker pool, one metrics registry."""
    from rollout.emulator import metrics as metrics_module
    from rollout.emulator import scoring
    from rollout.emulator.workers import WorkerPool

    state_dir = ensure_private_dir(config.state_dir)
    store = Store(state_dir)
    state = EmulatorState(store, token_ttl=config.token_ttl)
    pool = WorkerPool(log_dir=ensure_private_dir(state_dir / "logs"), registry_uri=config.registry_uri)
    metrics = metrics_module.Metrics()
    registry = ModelRegistry(config.registry_uri)
    operations = Operations()
    provisioner = Provisioner(state, pool, registry, operations)
    workspace = Workspace(
        subscription=SUBSCRIPTION_ID,
        resource_group=RESOURCE_GROUP,
        name=WORKSPACE,
        location=LOCATION,
        workspace_id=str(uuid.uuid5(uuid.NAMESPACE_URL, str(state_dir.resolve()))),
        registry_uri=config.registry_uri,
    )
    arm = ArmApi(
        state=state,
        provisioner=provisioner,
        registry=registry,
        operations=operations,
        workspace=workspace,
        base_url=config.url,
        management_token=ensure_management_token(state_dir),
        poll_interval_ms=config.poll_interval_ms,
    )

    async def healthz(request: Request) -> Response:
        """Liveness of the emulator: 200 with its URL and registry once it serves requests."""
        return JSONResponse(
            {"status": "ok", "url": config.url, "registry_uri": config.registry_uri, "pid": os.getpid()}
        )

    async def openapi_json(request: Request) -> Response:
        """This OpenAPI 3 description of every route the emulator serves."""
        return JSONResponse(openapi.document(app.routes, config.url, __version__))

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
        *arm.routes(),
        *scoring.routes(state, pool, metrics),
        *metrics_module.routes(metrics),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        warm_up = asyncio.get_running_loop().run_in_executor(None, registry.warm_up)
        await provisioner.restore()
        log.info("emulator serving %s (state %s, registry %s)", config.url, state_dir, config.registry_uri)
        try:
            yield
        finally:
            await provisioner.close()
            await asyncio.to_thread(pool.close)
            with contextlib.suppress(Exception):
                await warm_up
            store.close()
            log.info("emulator stopped")

    app = Starlette(routes=routes, lifespan=lifespan)
    return app


def serve(config: ServerConfig) -> None:
    """Run the emulator in the foreground until SIGTERM or SIGINT."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per proxied scoring call is noise
    state_dir = ensure_private_dir(config.state_dir)
    lock = _lock_state_dir(state_dir)
    listener = _bind(config.port)  # before anything starts: a taken port fails at once
    tls = ensure_certificates(state_dir)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=HOST,
            port=config.port,
            ssl_certfile=str(tls.cert_file),
            ssl_keyfile=str(tls.key_file),
            log_level="info",
            access_log=True,
            timeout_graceful_shutdown=2,
            lifespan="on",
        )
    )
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        lock.close()


def _bind(port: int) -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY on accepted connections only for sockets
    # that say so, and without it every small reply waits ~40 ms for delayed ACKs.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((HOST, port))
    except OSError as error:
        listener.close()
        raise SystemExit(
            f"error: cannot listen on {HOST}:{port}: {error.strerror} ({PORT_TAKEN_MARK})"
        ) from None
    return listener


def _lock_state_dir(state_dir: Path) -> IO[bytes]:
    """Hold an exclusive lock on the state directory while serving: one emulator per state."""
    handle = os.fdopen(os.open(state_dir / LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o600), "wb")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SystemExit(
            f"error: another emulator is already serving the state directory {state_dir}"
        ) from None
    return handle
