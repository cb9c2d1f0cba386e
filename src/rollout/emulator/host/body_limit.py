"""A size cap on every request body, so that no client can make the emulator hold unbounded bytes.

ARM and the workspace's MLflow and artifact services take at most ARM's 4 MB a request; the blob
service at most `BLOB_BODY_BYTES` a call (an upload in blocks takes more in all); the scoring route
keeps its own cap (`rollout.emulator.data.scoring`). A body over its cap is refused with the
service's own 413 before the handler sees it, whether its length is declared or it is sent chunked.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rollout.emulator.constants import STORAGE_ACCOUNT, STORAGE_SUFFIX
from rollout.emulator.control.artifacts import storage_error
from rollout.emulator.control.guard import error_response
from rollout.emulator.errors import RequestBodyTooLarge, RequestContentTooLarge

ARM_BODY_BYTES = 4 * 1024 * 1024
BLOB_BODY_BYTES = 256 * 1024 * 1024
BLOB_PREFIX = f"/{STORAGE_ACCOUNT}.blob.{STORAGE_SUFFIX}/"


def cap(path: str) -> int | None:
    """The most bytes a body sent to `path` may hold; None: the route keeps its own cap (scoring)."""
    if path.startswith("/online-endpoints/") and path.endswith("/score"):
        return None
    return BLOB_BODY_BYTES if path.startswith(BLOB_PREFIX) else ARM_BODY_BYTES


def too_large(path: str) -> Response:
    """The service's own 413 for a body over the cap of `path`."""
    if path.startswith(BLOB_PREFIX):
        error = RequestBodyTooLarge(
            "The request body is too large and exceeds the maximum permissible limit.",
            headers={"x-ms-max-limit": str(BLOB_BODY_BYTES)},
        )
        return storage_error(error)
    return error_response(
        RequestContentTooLarge("The request content size exceeds the maximum size of 4 MB.")
    )


class _TooLarge(Exception):
    """The body read so far is over its cap."""


class BodyLimit:
    """ASGI middleware: refuse a request whose body is over its route's cap with a 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = cap(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope["path"])(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await too_large(scope["path"])(scope, receive, send)
