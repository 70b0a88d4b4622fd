"""One client connection: an asyncio.Protocol on the hot path.

It owns the bytes: the codec, the bounded outgoing buffer and the transport. It hands
commands to the engine through the server and never decides chat rules itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, cast

from chinwag.engine.session import Session
from chinwag.protocol.codec import Codec
from chinwag.protocol.detect import DetectingCodec
from chinwag.protocol.events import Command, Pong

if TYPE_CHECKING:
    from chinwag.server.app import ChatServer

log = logging.getLogger("chinwag.server")


class Connection(asyncio.Protocol):
    __slots__ = (
        "answers_pings",
        "backlog",
        "busy",
        "close_reason",
        "closed",
        "codec",
        "corked",
        "detecting",
        "dirty",
        "last_seen",
        "needs",
        "opened",
        "out",
        "out_size",
        "peer",
        "pinged",
        "server",
        "session",
        "transport",
    )

    def __init__(self, server: ChatServer, codec: Codec) -> None:
        self.server = server
        self.codec = codec
        self.detecting = isinstance(codec, DetectingCodec)
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.peer = "?"
        # Lists only while there is something in them: an empty list is 56 bytes, and most
        # connections are idle most of the time.
        self.out: list[bytes] | None = None
        self.out_size = 0
        self.needs = 0  # highest message id the queued bytes depend on
        self.dirty = False  # in the server's list of connections to write at the next flush
        self.corked: list[tuple[bytes, int]] | None = None  # output held during an async command
        self.busy = False  # an async command is running; later commands wait in backlog
        self.backlog: list[Command] | None = None  # commands waiting for an async one
        self.closed = False
        self.close_reason: str | None = None
        self.answers_pings = False
        self.pinged = False
        self.opened = self.last_seen = server.loop.time()

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.session = self.server.engine.open_session(
            peer=self.peer, dialect=self.codec.dialect, outlet=self
        )
        self.server.connection_made(self)
        greeting = self.codec.greeting()
        if greeting:
            self.queue(greeting, 0)
        # A dialect may act before the client speaks (plain joins its users at once).
        self._run(self.codec.events_received())

    def data_received(self, data: bytes) -> None:
        self.last_seen = self.server.loop.time()
        self.pinged = False
        codec = self.codec
        codec.receive_data(data)
        commands = codec.events_received()
        if self.detecting:
            self._settle_dialect()
        self._run(commands)

    def _settle_dialect(self) -> None:
        """Once detected, talk to the chosen codec directly: one codec per connection."""
        codec = self.codec
        assert isinstance(codec, DetectingCodec)
        inner = codec.inner
        if inner is None:
            return
        self.codec = inner
        self.detecting = False
        if self.session is not None:
            self.session.dialect = inner.dialect
        log.debug("%s speaks %s", self.peer, inner.dialect)

    def eof_received(self) -> bool:
        self.codec.receive_eof()
        self._run(self.codec.events_received())
        if not self.closed:
            self.close("client closed the connection")
        return True  # keep our side open until the goodbye and the backlog are written

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reason = self.close_reason or (f"connection lost: {exc}" if exc else "disconnected")
        self.server.connection_lost(self, reason)

    def pause_writing(self) -> None:  # the kernel buffer is full; ours keeps the bound
        pass

    def resume_writing(self) -> None:
        pass

    # ------------------------------------------------------------------ commands

    def _run(self, commands: list[Command]) -> None:
        if self.busy or self.backlog:
            self._hold(commands)
            return
        server = self.server
        engine = server.engine
        session = self.session
        assert session is not None
        for index, command in enumerate(commands):
            if self.closed or self.close_reason is not None:
                return
            if type(command) is Pong:
                self.answers_pings = True
            if engine.is_async(command):
                self._hold(commands[index + 1 :])
                self._start_async(command)
                return
            server.handle(session, command)

    def _hold(self, commands: list[Command]) -> None:
        if not commands:
            return
        if self.backlog is None:
            self.backlog = []
        self.backlog.extend(commands)

    def _start_async(self, command: Command) -> None:
        """Run a store-reading command; hold this client's input and output meanwhile."""
        self.busy = True
        self.corked = []
        assert self.transport is not None
        self.transport.pause_reading()
        self.server.spawn(self._finish_async(command))

    async def _finish_async(self, command: Command) -> None:
        assert self.session is not None
        try:
            deliveries = await self.server.handle_async(self.session, command)
        except Exception:
            log.exception("%s: %s failed", self.peer, type(command).__name__)
            deliveries = []
        held, self.corked = self.corked or [], None
        self.server.dispatch(deliveries)  # the reply goes out before what was held
        for data, needs in held:
            self.queue(data, needs)
        self.busy = False
        if self.closed or self.close_reason is not None:
            return
        assert self.transport is not None
        self.transport.resume_reading()
        backlog, self.backlog = self.backlog, None
        if backlog:
            self._run(backlog)

    # ------------------------------------------------------------------ output

    def queue(self, data: bytes, needs: int) -> None:
        """Owe these bytes to the client; they leave once `needs` is durable."""
        if self.closed:
            return
        server = self.server
        if server.presence_logs:  # presence batched for a big room goes out first, in order
            data = server.owed_presence(self.session) + data
        if self.corked is not None:
            self.corked.append((data, needs))
            return
        out = self.out
        if out is None:
            self.out = [data]
        else:
            out.append(data)
        self.out_size += len(data)
        if needs > self.needs:
            self.needs = needs
        if not self.dirty:
            self.dirty = True
            server.mark_dirty(self)
        if self.out_size > server.config.max_buffer:
            self.abort("send buffer overflow: client is not reading")

    def flush(self) -> None:
        """Write what is queued in one call (called by the server after a commit)."""
        self.dirty = False
        self.needs = 0
        if self.closed or self.transport is None:
            return
        out = self.out
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            self.out = None
            self.out_size = 0
            self.transport.write(data)
            if self.transport.get_write_buffer_size() > self.server.config.max_buffer:
                self.abort("send buffer overflow: client is not reading")
                return
        if self.close_reason is not None:
            self.transport.close()

    def close(self, reason: str) -> None:
        """Close after what is queued has been written."""
        if self.closed or self.close_reason is not None:
            return
        self.close_reason = reason
        if self.transport is not None:
            self.transport.pause_reading()
        if not self.dirty and self.corked is None:
            self.flush()

    def abort(self, reason: str) -> None:
        """Drop the connection now, discarding what it is owed."""
        if self.closed:
            return
        log.warning("%s: dropping %s: %s", self.peer, self.name, reason)
        self.close_reason = reason
        self.out = None
        self.out_size = 0
        if self.transport is not None:
            self.transport.abort()

    @property
    def name(self) -> str:
        username = self.session.username if self.session else None
        return username or "(not joined)"

    def info(self) -> dict[str, Any]:
        return {"peer": self.peer, "name": self.name, "dialect": self.codec.dialect}
