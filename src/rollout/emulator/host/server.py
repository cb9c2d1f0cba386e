"""Runs the emulator in the foreground: one HTTPS server on 127.0.0.1, one emulator per state directory.

`serve` locks the state directory, binds the port (a taken port fails at once), ensures the TLS
certificates and runs the app (`app.create_app`) under uvicorn until SIGTERM or SIGINT, on uvloop
with httptools' parser where they are installed (asyncio and h11 otherwise).
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import socket
from pathlib import Path
from typing import IO, Literal

from rollout.emulator.constants import HOST, PORT_TAKEN_MARK
from rollout.emulator.host.config import ServerConfig
from rollout.emulator.host.tls import ensure_certificates
from rollout.emulator.private_dir import ensure_private_dir

LOCK_FILE = "emulator.lock"

__all__ = ["ServerConfig", "serve"]


def serve(config: ServerConfig) -> None:
    """Run the emulator in the foreground until SIGTERM or SIGINT."""
    import uvicorn

    from rollout.emulator.host.app import create_app  # the planes' imports: only when serving

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.access").addFilter(access_line)
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
            loop=event_loop(),
            http=http_parser(),
            proxy_headers=False,  # no proxy in front: the client is the peer, on every request
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


def event_loop() -> Literal["uvloop", "asyncio"]:
    """uvloop where it is installed (every platform but Windows): its TLS and sockets cost a
    fraction of asyncio's per scoring request, which the router adds to every instance's answer."""
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def http_parser() -> Literal["httptools", "h11"]:
    """httptools (llhttp, in C) where it is installed, else h11 (pure Python)."""
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def access_line(record: logging.LogRecord) -> bool:
    """Scoring requests are counted in /metrics, not logged one by one: writing a line costs as
    much as routing the request. Everything else is logged, without its query string: a blob URL's
    SAS signature must not reach the log, which CI keeps when a run fails."""
    args = record.args
    if not isinstance(args, tuple) or len(args) < 3:
        return True
    path = str(args[2]).split("?", 1)[0]
    if args[1] == "POST" and path.endswith("/score"):
        return False
    record.args = (*args[:2], path, *args[3:])
    return True


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
