"""Clients for the web front end's tests: a real WebSocket client and a raw one that can
send what no library would (bad frames, floods, never reading)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from chinwag.server.app import ChatServer
from tests.helpers import NOISE, TIMEOUT


async def ws_client(port: int, **kwargs: Any) -> ClientConnection:
    scheme = "wss" if "ssl" in kwargs else "ws"
    return await connect(f"{scheme}://127.0.0.1:{port}/ws", open_timeout=TIMEOUT, **kwargs)


async def send(ws: ClientConnection, obj: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(obj).decode())


async def receive(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    data = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(data, str), "the server sends text frames only"
    obj = orjson.loads(data)
    assert isinstance(obj, dict)
    return obj


async def until(ws: ClientConnection, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next message of type `kind`, skipping only presence and pings on the way."""
    async with asyncio.timeout(timeout):
        while True:
            obj = await receive(ws, timeout)
            if obj["type"] == kind:
                return obj
            assert obj["type"] in NOISE, f"waiting for {kind!r}, got {obj!r}"


async def joined_ws(port: int, name: str) -> ClientConnection:
    ws = await ws_client(port)
    await send(ws, {"type": "join", "username": name})
    welcome = await receive(ws)
    assert welcome["type"] == "welcome", welcome
    return ws


def masked(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True) -> bytes:
    """A client frame built by hand (clients must mask; `mask=False` breaks that rule)."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    bit = 0x80 if mask else 0
    if size < 126:
        header = bytes((first, bit | size))
    elif size < 0x10000:
        header = struct.pack("!BBH", first, bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, bit | 127, size)
    if not mask:
        return header + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + body


class RawWebSocket:
    """A WebSocket client over a bare socket: the handshake, then bytes as the test says."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, *, origin: str | None = None) -> RawWebSocket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET /ws HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        raw = cls(reader, writer)
        raw.status = int(head.split(b" ", 2)[1])
        return raw

    status = 0

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def text(self, obj: dict[str, Any]) -> None:
        await self.send(masked(0x1, orjson.dumps(obj)))

    async def frame(self, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """The next server frame: (opcode, payload)."""
        head = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        assert not head[1] & 0x80, "server frames are never masked"
        size = head[1] & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return head[0] & 0x0F, await asyncio.wait_for(self.reader.readexactly(size), timeout)

    async def message(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next text message, skipping presence and control frames."""
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await self.frame(timeout)
                if opcode == 0x1:
                    obj = orjson.loads(payload)
                    if obj["type"] not in NOISE:
                        assert isinstance(obj, dict)
                        return obj
                elif opcode == 0x8:
                    raise EOFError(f"close frame {payload[:2].hex()} {payload[2:]!r}")

    async def close_code(self, timeout: float = TIMEOUT) -> int:
        """Read until the server's close frame; its code."""
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await self.frame(timeout)
                if opcode == 0x8:
                    return int(struct.unpack("!H", payload[:2])[0])

    async def closed(self, timeout: float = TIMEOUT) -> bool:
        """True once the server has closed (or reset) the connection."""
        async with asyncio.timeout(timeout):
            try:
                while await self.reader.read(65536):
                    pass
            except ConnectionResetError:  # dropped (abort): a reset, no goodbye
                pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def web_port(server: ChatServer) -> int:
    """The port of a test server's web front end (started with http_port=-1)."""
    port = server.http_port
    assert port is not None, "start the server with http_port=-1"
    return port
