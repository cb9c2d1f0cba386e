"""The router's HTTP/1.1 client to its instances: connections over loopback, per port, kept alive
when the instance allows it.

The instances are Azure's inference server (Flask under gunicorn's sync workers): a reply carries
`Content-Length` (a reply without one is read to the end of its connection) and
`Connection: close`, so each request has a connection of its own; a request is one write and a
reply is a head and a body, read by a protocol of its own (no stream objects). This is a fraction
of a general client's work per request (no URL parsing, header models or connection-pool locks),
on the scoring path of every request.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple, cast

HOST = "127.0.0.1"
MAX_HEAD_BYTES = 64 * 1024
MAX_IDLE_PER_PORT = 64


class InstanceUnreachable(Exception):
    """No connection could be made: the request never reached the instance."""


class InstanceBroke(Exception):
    """The connection broke or the reply was not HTTP: the request may have reached the instance."""


class InstanceReply(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes


class _Connection(asyncio.Protocol):
    """One loopback connection: the bytes it has received, and whether the instance ended it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> None:
        self.ended = True  # returning None: the transport closes
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self._wake()

    @property
    def usable(self) -> bool:
        """Whether it can carry a request: open at both ends, nothing unread."""
        transport = self.transport
        return not self.ended and not self.buffer and transport is not None and not transport.is_closing()

    def send(self, data: bytes) -> None:
        if self.transport is None:
            raise ConnectionError("not connected")
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def more(self) -> None:
        """Wait for more bytes; ConnectionError once the instance has ended the connection."""
        if self.ended:
            raise ConnectionError("the instance closed the connection before the end of its reply")
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class InstanceTransport:
    """Idle keep-alive connections to each instance port, reused one request at a time."""

    def __init__(self) -> None:
        self._idle: dict[int, list[_Connection]] = {}

    async def request(
        self, port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> InstanceReply:
        """Send one request to the instance on `port`; raises InstanceUnreachable or InstanceBroke.

        Cancelling it (a timeout) closes its connection."""
        connection = self._take_idle(port)
        if connection is None:
            self._sweep()
            try:
                _, connection = await asyncio.get_running_loop().create_connection(_Connection, HOST, port)
            except OSError as exc:
                raise InstanceUnreachable(f"cannot connect to {HOST}:{port}: {exc}") from None
        head = [f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Length: {len(body)}\r\n"]
        head.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        head.append("\r\n")
        reusable = False
        try:
            connection.send("".join(head).encode("latin-1") + body)
            reply, reusable = await _read_reply(connection)
        except (OSError, ValueError) as exc:
            raise InstanceBroke(f"the connection to {HOST}:{port} broke: {exc!r}") from None
        finally:
            if reusable:
                self._put_idle(port, connection)
            else:
                connection.close()
        return reply

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take_idle(self, port: int) -> _Connection | None:
        connections = self._idle.get(port)
        while connections:
            connection = connections.pop()
            if connection.usable:
                return connection
            connection.close()  # the instance closed it (it stopped) while idle
        return None

    def _sweep(self) -> None:
        """Close the idle connections of instances that have stopped (new connections are rare:
        a new instance, or more concurrency, so this keeps no dead instance's sockets open)."""
        for port, connections in list(self._idle.items()):
            alive = [c for c in connections if c.usable]
            for connection in connections:
                if connection not in alive:
                    connection.close()
            if alive:
                self._idle[port] = alive
            else:
                del self._idle[port]

    def _put_idle(self, port: int, connection: _Connection) -> None:
        connections = self._idle.setdefault(port, [])
        if len(connections) < MAX_IDLE_PER_PORT:
            connections.append(connection)
        else:
            connection.close()


async def _read_reply(connection: _Connection) -> tuple[InstanceReply, bool]:
    """The reply and whether its connection can carry another request."""
    buffer = connection.buffer
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise ValueError("reply head too large")
        await connection.more()
    if end > MAX_HEAD_BYTES:
        raise ValueError("reply head too large")
    status_line, *lines = buffer[:end].decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    start = end + 4
    if "content-length" not in headers:
        while not connection.ended:  # the body is what comes until the instance closes
            await connection.more()
        return InstanceReply(int(status), headers, bytes(buffer[start:])), False
    stop = start + int(headers["content-length"])
    while len(buffer) < stop:
        await connection.more()
    content = bytes(buffer[start:stop])
    keep_alive = (
        version == "HTTP/1.1" and headers.get("connection", "").lower() != "close" and len(buffer) == stop
    )
    del buffer[:]
    return InstanceReply(int(status), headers, content), keep_alive
