"""A generator client over WebSocket (scenario BW): BenchClient's tallies, in frames.

It speaks the handshake itself, then turns each server text frame back into a line and
hands the lines to BenchClient, so both transports are counted by the same code. Its own
frames are masked with the all-zero key (valid, and the payload then needs no XOR: the
generator's CPU stays close to the TCP one's).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time

from bench.client import BenchClient

ZERO_MASK = b"\x00\x00\x00\x00"


def client_frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((0x81, 0x80 | size)) + ZERO_MASK + payload
    if size < 0x10000:
        return struct.pack("!BBH", 0x81, 0x80 | 126, size) + ZERO_MASK + payload
    return struct.pack("!BBQ", 0x81, 0x80 | 127, size) + ZERO_MASK + payload


class WsBenchClient(BenchClient):
    __slots__ = ("buffer", "ready")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.buffer = b""
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        key = base64.b64encode(os.urandom(16))
        assert self.transport is not None
        self.transport.write(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n" % key
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"connection lost: {exc}"))
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        data = self.buffer + data if self.buffer else data
        if not self.ready.done():
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(data[:end].decode(errors="replace")))
                return
            self.ready.set_result(None)
            data = data[end + 4 :]
        lines: list[bytes] = []
        at, size_all = 0, len(data)
        while size_all - at >= 2:
            opcode, size = data[at] & 0x0F, data[at + 1] & 0x7F
            head = 2
            if size == 126:
                if size_all - at < 4:
                    break
                (size,) = struct.unpack_from("!H", data, at + 2)
                head = 4
            elif size == 127:
                if size_all - at < 10:
                    break
                (size,) = struct.unpack_from("!Q", data, at + 2)
                head = 10
            if size_all - at < head + size:
                break
            payload = data[at + head : at + head + size]
            if opcode == 0x1:
                lines.append(payload)
            elif opcode == 0x9 and self.transport is not None:  # ping: pong
                self.transport.write(bytes((0x8A, 0x80 | size)) + ZERO_MASK + payload)
            at += head + size
        self.buffer = data[at:]
        if lines:
            lines.append(b"")
            super().data_received(b"\n".join(lines))

    async def request(self, line: bytes, marker: bytes, timeout: float = 60.0) -> bytes:
        await asyncio.wait_for(asyncio.shield(self.ready), timeout)
        assert self.transport is not None
        self.reply = asyncio.get_running_loop().create_future()
        self.waiting = marker
        self.transport.write(client_frame(line.rstrip(b"\n")))
        return await asyncio.wait_for(self.reply, timeout)

    def send(self, count: int) -> None:
        if count <= 0 or self.closed or self.transport is None:
            return
        line = self.prefix + b'%d:%d"}' % (time_ns(), self.sender_id)
        self.transport.write(client_frame(line) * count)
        self.sent += count
        self.outstanding += count


time_ns = time.monotonic_ns
