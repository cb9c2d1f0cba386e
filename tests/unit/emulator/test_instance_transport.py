"""The router's client to its instances, against small HTTP servers on loopback: a kept-alive
connection carries the next request, a reply without a length is read to the connection's end, a
reply cut short is a broken instance and a closed port an unreachable one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from rollout.emulator.data.transport import InstanceBroke, InstanceTransport, InstanceUnreachable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


def test_a_kept_alive_connection_carries_the_next_request() -> None:
    connections = 0

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            writer.write(
                b"HTTP/1.1 200 OK\r\nX-Ms-Server-Version: t/1\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
        writer.close()

    async def run() -> list[tuple[int, bytes, str]]:
        server, port = await _serve(echo)
        transport = InstanceTransport()
        replies = [await transport.request(port, "POST", "/score", {}, b'{"n": %d}' % n) for n in range(3)]
        await transport.aclose()
        server.close()
        return [(r.status, r.content, r.headers["x-ms-server-version"]) for r in replies]

    assert asyncio.run(run()) == [(200, b'{"n": %d}' % n, "t/1") for n in range(3)]
    assert connections == 1


def test_a_reply_without_a_length_is_read_to_the_end_and_its_connection_closed() -> None:
    connections = 0

    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 400 BAD REQUEST\r\n\r\n")
        await writer.drain()
        writer.write(b"part one, part two")
        writer.close()

    async def run() -> list[tuple[int, bytes]]:
        server, port = await _serve(until_close)
        transport = InstanceTransport()
        replies = [await transport.request(port, "POST", "/score", {}, b"{}") for _ in range(2)]
        server.close()
        return [(r.status, r.content) for r in replies]

    assert asyncio.run(run()) == [(400, b"part one, part two")] * 2
    assert connections == 2


def test_a_reply_cut_short_is_a_broken_instance_and_a_closed_port_an_unreachable_one() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        writer.close()

    async def run() -> None:
        server, port = await _serve(cut)
        transport = InstanceTransport()
        with pytest.raises(InstanceBroke, match="closed the connection"):
            await transport.request(port, "POST", "/score", {}, b"{}")
        server.close()
        await server.wait_closed()
        with pytest.raises(InstanceUnreachable):
            await transport.request(port, "POST", "/score", {}, b"{}")

    asyncio.run(run())
