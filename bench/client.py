"""One generator client: a raw asyncio.Protocol speaking native JSON lines.

It never parses a whole line with a JSON library on the hot path: the server writes
compact orjson, so a chat delivery is found by `"type":"chat"` and its payload, the
sender's `time.monotonic_ns()` and sender number, by one regular expression.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import cast

MESSAGE_RE = re.compile(rb'"message":"(\d+):(\d+)"')
CHAT = b'"type":"chat"'
JOINED = b'"type":"user_joined"'
ERROR = b'"type":"error"'
BUCKET_NS = 10_000  # latency histogram resolution: 10 microseconds


class Tally:
    """What every client of one generator process has received."""

    __slots__ = ("chat", "joined", "latency")

    def __init__(self) -> None:
        self.chat = 0
        self.joined = 0
        self.latency: dict[int, int] = {}  # bucket (BUCKET_NS) -> deliveries


class BenchClient(asyncio.Protocol):
    # What the lines of this protocol look like (IrcBenchClient has its own).
    CHAT = CHAT
    JOINED = JOINED
    ERROR = ERROR
    MESSAGE_RE = MESSAGE_RE
    END = b'"}\n'

    __slots__ = (
        "closed",
        "outstanding",
        "prefix",
        "reply",
        "room",
        "sender_id",
        "sending",
        "sent",
        "tail",
        "tally",
        "transport",
        "waiting",
        "window",
    )

    def __init__(self, tally: Tally, room: str, sender_id: int = -1, window: int = 0) -> None:
        self.tally = tally
        self.room = room
        self.sender_id = sender_id  # -1: never sends
        self.window = window  # 0: fixed rate (driven from outside)
        self.transport: asyncio.Transport | None = None
        self.tail = b""
        self.waiting: bytes | None = None
        self.reply: asyncio.Future[bytes] | None = None
        self.outstanding = 0
        self.sending = False
        self.sent = 0
        self.closed = False
        self.prefix = self.chat_prefix(room)

    @staticmethod
    def chat_prefix(room: str) -> bytes:
        return b'{"type":"chat","room":"%s","message":"' % room.encode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.sending = False
        if self.reply is not None and not self.reply.done():
            self.reply.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        if self.tail:
            data = self.tail + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            self.tail = data
            return
        if cut < len(data):
            self.tail = data[cut:]
            data = data[:cut]
        else:
            self.tail = b""
        if self.waiting is not None:
            self._check_reply(data)
        tally = self.tally
        count = data.count(self.CHAT)
        if count:
            tally.chat += count
            self._time(data)
        joined = data.count(self.JOINED)
        if joined:
            tally.joined += joined

    def _time(self, data: bytes) -> None:
        now = time.monotonic_ns()
        hist = self.tally.latency
        me = self.sender_id
        acks = 0
        for match in self.MESSAGE_RE.finditer(data):
            bucket = (now - int(match[1])) // BUCKET_NS
            hist[bucket] = hist.get(bucket, 0) + 1
            if me >= 0 and int(match[2]) == me:
                acks += 1
        if acks:
            self.outstanding -= acks
            if self.sending and self.window:
                self.send(self.window - self.outstanding)

    def _check_reply(self, data: bytes) -> None:
        reply = self.reply
        assert self.waiting is not None and reply is not None
        if self.waiting in data:
            self.waiting = None
            if not reply.done():
                reply.set_result(data)
        elif self.ERROR in data:
            self.waiting = None
            if not reply.done():
                reply.set_exception(RuntimeError(data.decode(errors="replace").strip()))

    async def request(self, line: bytes, marker: bytes, timeout: float = 60.0) -> bytes:
        """Send one command line and wait for the line that holds `marker`."""
        assert self.transport is not None
        self.reply = asyncio.get_running_loop().create_future()
        self.waiting = marker
        self.transport.write(line)
        return await asyncio.wait_for(self.reply, timeout)

    def send(self, count: int) -> None:
        """Send `count` chat lines stamped now, in one write."""
        if count <= 0 or self.closed or self.transport is None:
            return
        line = self.prefix + b"%d:%d" % (time.monotonic_ns(), self.sender_id) + self.END
        self.transport.write(line * count)
        self.sent += count
        self.outstanding += count

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()


class IrcBenchClient(BenchClient):
    """The same client speaking IRC: PRIVMSG lines, counted and timed the same way."""

    CHAT = b" PRIVMSG #"
    JOINED = b" JOIN "
    ERROR = b"ERROR :"
    MESSAGE_RE = re.compile(rb" PRIVMSG #\S+ :?(\d+):(\d+)")  # no space: no ':' needed
    END = b"\r\n"
    __slots__ = ()

    @staticmethod
    def chat_prefix(room: str) -> bytes:
        return b"PRIVMSG #%s :" % room.encode()
