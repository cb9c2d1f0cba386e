"""The router's HTTP/1.1 client to its instances: connections over loopback, per port, kept alive
when the instance allows it.

The instances are Azure's inference server (Flask under gunicorn's sync workers): a reply carries
`Content-Length` (a reply without one is read to the end of its connection) and
`Connection: close`, so each request has a connection of its own; a request is one write and a
reply is a head and a body. This is a fraction of a general client's work per request (no URL
parsing, header models or connection-pool locks), on the scoring path of every request.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import NamedTuple

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


class _Connection(NamedTuple):
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


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
                connection = _Connection(*await asyncio.open_connection(HOST, port))
            except OSError as exc:
                raise InstanceUnreachable(f"cannot connect to {HOST}:{port}: {exc}") from None
        head = [f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Length: {len(body)}\r\n"]
        head.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        head.append("\r\n")
        reusable = False
        try:
            connection.writer.write("".join(head).encode("latin-1") + body)
            reply, reusable = await _read_reply(connection.reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise InstanceBroke(f"the connection to {HOST}:{port} broke: {exc!r}") from None
        finally:
            if reusable:
                self._put_idle(port, connection)
            else:
                connection.writer.close()
        return reply

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.writer.close()
                with contextlib.suppress(OSError):
                    await connection.writer.wait_closed()

    def _take_idle(self, port: int) -> _Connection | None:
        connections = self._idle.get(port)
        while connections:
            connection = connections.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection
            connection.writer.close()  # the instance closed it (it stopped) while idle
        return None

    def _sweep(self) -> None:
        """Close the idle connections of instances that have stopped (new connections are rare:
        a new instance, or more concurrency, so this keeps no dead instance's sockets open)."""
        for port, connections in list(self._idle.items()):
            alive = [c for c in connections if not c.reader.at_eof() and not c.writer.is_closing()]
            for connection in connections:
                if connection not in alive:
                    connection.writer.close()
            if alive:
                self._idle[port] = alive
            else:
                del self._idle[port]

    def _put_idle(self, port: int, connection: _Connection) -> None:
        connections = self._idle.setdefault(port, [])
        if len(connections) < MAX_IDLE_PER_PORT:
            connections.append(connection)
        else:
            connection.writer.close()


async def _read_reply(reader: asyncio.StreamReader) -> tuple[InstanceReply, bool]:
    """The reply and whether its connection can carry another request."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEAD_BYTES:
        raise ValueError("reply head too large")
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        return InstanceReply(int(status), headers, await reader.read()), False
    content = await reader.readexactly(int(headers["content-length"]))
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return InstanceReply(int(status), headers, content), keep_alive
