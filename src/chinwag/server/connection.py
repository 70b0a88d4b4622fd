"""One client connection over a byte stream: an asyncio.Protocol on the hot path.

It owns the bytes: the framing (bytes -> messages), the codec (messages <-> events), the
bounded outgoing buffer and the transport. It implements `Outlet` for the fan-out, and hands
commands to the server through the narrow `Host` interface; it never decides chat rules.

Its life is one `State`, changed only by `_move`, which checks `TRANSITIONS`:

    OPEN  --store-reading command, or a replay to stream-->  BUSY  --done-->  OPEN
    OPEN | BUSY  --close() / abort() / EOF-->  CLOSING  --transport gone-->  CLOSED
    OPEN | BUSY  --shut() (server shutdown)-->  DRAINING  --all written, FIN sent-->  DRAINED
    DRAINING | DRAINED  --the client closes, or abort()-->  CLOSED

A shutdown does not close sockets that hold unread input (the kernel would answer with a
reset, and the client would lose the goodbye and its last echoes): a DRAINING connection
keeps reading and ignores what it reads, writes what it is owed, then half-closes and waits
for the client to close its side.

While BUSY, reading is paused, later commands wait in `backlog` and live output is held
(`Busy.held`), so a client sees its answers in the order it asked, and a replay before
what was said after it (docs/DEVELOPING.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from enum import Enum
from typing import Any, Protocol, cast

from chinwag.bus.base import Envelope
from chinwag.engine.replay import Replay
from chinwag.engine.session import Session
from chinwag.protocol.codec import Codec, feed_lines, finish_lines
from chinwag.protocol.detect import DetectingCodec
from chinwag.protocol.events import Command, Error, Pong
from chinwag.protocol.framing import LineFraming
from chinwag.server.stream import stream_replay
from chinwag.storage.base import Store

log = logging.getLogger("chinwag.server")


class State(Enum):
    OPEN = "open"  # reading; commands run as they come
    BUSY = "busy"  # a store-reading command runs: reading paused, output held
    CLOSING = "closing"  # no more input; what is queued is written, then the socket closes
    DRAINING = "draining"  # shutdown: input read and ignored; what is owed is written
    DRAINED = "drained"  # shutdown: everything written, FIN sent; waiting for the client's
    CLOSED = "closed"  # the transport is gone


# A client is "not reading" when what the kernel could not take exceeds max_buffer (checked
# after each write). Bytes that wait in the process (for a commit, or behind a replay) are
# the server's own delay, not the client's: they may reach this many times max_buffer
# before the connection is dropped, which still bounds the memory one client can hold.
WAITING_FACTOR = 4
# A client over its command rate is read again this long later at the earliest; more than
# MAX_BACKLOG commands ahead of its rate (already read, waiting their turn), it is cut.
THROTTLE_MIN = 0.05
MAX_BACKLOG = 2000
FLOOD_CHECK = 16 * 1024  # reads at least this big are checked for a flood before decoding

# The states as module constants: on the hot path (every write), reading a member off the
# Enum class costs ten times a global (Python 3.11).
OPEN, BUSY, CLOSING, CLOSED = State.OPEN, State.BUSY, State.CLOSING, State.CLOSED
DRAINING, DRAINED = State.DRAINING, State.DRAINED

TRANSITIONS: dict[State, frozenset[State]] = {
    State.OPEN: frozenset({State.BUSY, State.CLOSING, State.DRAINING, State.CLOSED}),
    State.BUSY: frozenset({State.OPEN, State.CLOSING, State.DRAINING, State.CLOSED}),
    State.CLOSING: frozenset({State.CLOSED}),
    State.DRAINING: frozenset({State.DRAINED, State.CLOSED}),
    State.DRAINED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}


class Host(Protocol):
    """What a connection may ask of the server, and nothing more."""

    loop: asyncio.AbstractEventLoop
    max_buffer: int
    presence_logs: dict[str, Any]  # non-empty while big rooms' presence waits for its tick

    def attach(self, conn: Connection) -> Session | Error | None:
        """A new connection: its session; or an error to send before closing it (the server
        is full), or None to drop it at once (the server is shutting down)."""

    def detach(self, conn: Connection, reason: str) -> None: ...

    def reads_store(self, command: Command) -> bool: ...

    def run(self, session: Session, command: Command) -> float:
        """Handle a synchronous command and publish what it says: 0.0. Or, when the session
        is over its command rate, do nothing and say how many seconds to wait."""

    def take_command(self, session: Session) -> float:
        """May the session run a (store-reading) command now? 0.0, or seconds to wait."""

    def run_async(self, session: Session, command: Command) -> Awaitable[list[Envelope]]: ...

    def publish(self, envelopes: list[Envelope]) -> None: ...

    def settle(self) -> None:
        """Queue what the fan-out batches now (before queuing anything outside it)."""

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...

    @property
    def owe(self) -> Callable[[Connection], None]:
        """Called when the connection has bytes to write at the next flush: once per
        recipient of every message, so the server hands out the outbox's own method."""

    def owed_presence(self, session: Session | None) -> bytes: ...

    def durable(self, message_id: int) -> Awaitable[None]:
        """Until that message is stored (or the store gave up on it)."""

    @property
    def store(self) -> Store: ...


class Busy:
    """What a BUSY connection holds: live output for later, and the wait for room to write."""

    __slots__ = ("held", "held_size", "writable")

    def __init__(self) -> None:
        self.held: list[tuple[bytes, int]] = []
        self.held_size = 0
        self.writable: asyncio.Event | None = None  # a replay waits for the client to read


class Connection(asyncio.Protocol):
    __slots__ = (
        "answers_pings",
        "backlog",
        "busy",
        "chained",
        "close_reason",
        "closed",
        "codec",
        "dirty",
        "dropped",
        "framing",
        "host",
        "last_seen",
        "marks",
        "needs",
        "opened",
        "out",
        "out_size",
        "peer",
        "pinged",
        "session",
        "state",
        "transport",
    )

    def __init__(self, host: Host, codec: Codec, framing: LineFraming) -> None:
        self.host = host
        self.codec = codec
        self.framing = framing
        self.state = OPEN
        self.closed = False  # state is CLOSED: read on every delivery, so kept as a slot
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.peer = "?"
        # Lists only while there is something in them: an empty list is 56 bytes, and most
        # connections are idle most of the time.
        self.out: list[bytes] | None = None
        self.out_size = 0
        self.needs = 0  # highest message id the queued bytes depend on
        # (index in out, message id) of the queued chunks that wait for a message to be
        # stored, so that they can be dropped if the store gives up on it (drop_after).
        self.marks: list[tuple[int, int]] | None = None
        self.dirty = False  # in the outbox's list of connections to write at the next flush
        self.busy: Busy | None = None  # while BUSY
        # A replay the answer of a store-reading command asked for (a login with `since`):
        # it streams before what was held (see _end_busy).
        self.chained: Replay | None = None
        self.backlog: list[Command] | None = None  # commands waiting for the BUSY one
        self.close_reason: str | None = None
        self.dropped = False  # abort(): the server cut it (logged once, as a warning)
        self.answers_pings = False  # keep-alive: it has answered a ping once
        self.pinged = False  # keep-alive: pinged since it last spoke
        self.opened = self.last_seen = host.loop.time()

    def _move(self, state: State) -> None:
        """The only place the state changes."""
        if state not in TRANSITIONS[self.state]:
            raise AssertionError(f"{self.peer}: {self.state.value} -> {state.value}")
        self.state = state
        self.closed = state is CLOSED or state is DRAINED  # nothing more may be queued

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        session = self.host.attach(self)
        if not isinstance(session, Session):
            if session is None:
                self.abort("server shutting down")
            else:  # refused with a reason the client is told, in its dialect
                self._move(CLOSING)
                self.close_reason = session.message
                self.transport.write(self.codec.render(session, None))
                self.transport.close()
            return
        self.session = session
        greeting = self.codec.greeting()
        if greeting:
            self.queue(greeting, 0)
        # A dialect may act before the client speaks (plain joins its users at once).
        self._run(self.codec.events_received())

    def data_received(self, data: bytes) -> None:
        self.last_seen = self.host.loop.time()
        if self.state is DRAINING or self.state is DRAINED:
            return  # shutting down: read, so the kernel holds no input, and ignore
        if len(data) > FLOOD_CHECK and data.count(b"\n") > MAX_BACKLOG:
            # More commands in one read than a client may be ahead of its rate: a flood,
            # cut before decoding it (decoding thousands of lines stalls everyone else).
            self.abort(f"command flood: more than {MAX_BACKLOG} commands at once")
            return
        self.pinged = False
        codec = self.codec
        commands = feed_lines(codec, self.framing, data)
        if type(codec) is DetectingCodec:
            self._settle_dialect(codec)
        self._run(commands)

    def _settle_dialect(self, codec: DetectingCodec) -> None:
        """Once detected, talk to the chosen codec directly: one codec per connection."""
        inner = codec.inner
        if inner is None:
            return
        self.codec = inner
        if self.session is not None:
            self.session.dialect = inner.dialect
        log.debug("%s speaks %s", self.peer, inner.dialect)

    def eof_received(self) -> bool:
        if self.state is DRAINING or self.state is DRAINED:
            return False  # the client closed its side: close ours
        commands = finish_lines(self.codec, self.framing)
        if type(self.codec) is DetectingCodec:
            self._settle_dialect(self.codec)
        self._run(commands)
        self.close("client closed the connection")
        # Keep our side open until the goodbye and the backlog are written. TLS cannot:
        # its transport closes after the peer's close_notify whatever we answer (and warns
        # if we ask it not to).
        assert self.transport is not None
        return self.transport.can_write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self._move(CLOSED)
        busy = self.busy
        if busy is not None and busy.writable is not None:
            busy.writable.set()  # a replay stops
        reason = self.close_reason or (f"connection lost: {exc}" if exc else "disconnected")
        self.host.detach(self, reason)

    def pause_writing(self) -> None:  # the kernel buffer is full; ours keeps the bound
        pass

    def resume_writing(self) -> None:
        busy = self.busy
        if busy is not None and busy.writable is not None:
            busy.writable.set()

    # ------------------------------------------------------------------ commands

    def _run(self, commands: list[Command]) -> None:
        if self.state is not OPEN:
            if self.state is BUSY:
                self._hold(commands)
            return  # closing: nothing more is read
        host = self.host
        session = self.session
        assert session is not None
        for index, command in enumerate(commands):
            if self.state is not OPEN:  # a command before this one started a replay
                if self.state is BUSY:
                    self._hold(commands[index:])
                return
            if type(command) is Pong:
                self.answers_pings = True
            self.codec.running(command)
            if host.reads_store(command):
                wait = host.take_command(session)
                if wait:
                    self._throttle(commands[index:], wait)
                    return
                self._hold(commands[index + 1 :])
                self._start_async(command)
                return
            wait = host.run(session, command)
            if wait:
                self._throttle(commands[index:], wait)
                return

    def _throttle(self, commands: list[Command], wait: float) -> None:
        """Over its command rate: read nothing more from this client for a while; its
        commands wait their turn. Too far ahead of its rate, it is a flood: cut."""
        self._hold(commands)
        if self.backlog is not None and len(self.backlog) > MAX_BACKLOG:
            self.abort(f"command flood: more than {MAX_BACKLOG} commands ahead of its rate")
            return
        self._begin_busy()
        self.host.loop.call_later(max(wait, THROTTLE_MIN), self._end_busy, [])

    def _hold(self, commands: list[Command]) -> None:
        if not commands:
            return
        if self.backlog is None:
            self.backlog = []
        self.backlog.extend(commands)

    def _begin_busy(self) -> Busy:
        """Hold this client's input and live output until _end_busy."""
        self._move(BUSY)
        busy = self.busy = Busy()
        assert self.transport is not None
        self.transport.pause_reading()
        return busy

    def _end_busy(self, answer: list[Envelope]) -> None:
        """Publish the answer, then what was held, in order; then read on."""
        host = self.host
        state = self.state
        if state is DRAINING or state is DRAINED or state is CLOSED:
            return  # shut down, or gone, meanwhile: what was held comes back with `since`
        host.settle()  # what the fan-out batched meanwhile joins what was held, in order
        busy, self.busy = self.busy, None
        host.publish(answer)  # the answer goes out before what was held
        replay, self.chained = self.chained, None
        if replay is not None and self.state is BUSY:  # then the replay, then the rest
            self.busy = busy if busy is not None else Busy()
            self.host.spawn(self._stream(replay))
            return
        if busy is not None:
            for data, needs in busy.held:
                self.queue(data, needs)
        if self.state is not BUSY:  # closed meanwhile: write what is owed, then close
            if self.state is CLOSING and not self.dirty:
                self.flush()
            return
        self._move(OPEN)
        assert self.transport is not None
        self.transport.resume_reading()
        backlog, self.backlog = self.backlog, None
        if backlog:
            self._run(backlog)

    def _start_async(self, command: Command) -> None:
        """Run a store-reading command; hold this client's input and output meanwhile."""
        self._begin_busy()
        self.host.spawn(self._finish_async(command))

    async def _finish_async(self, command: Command) -> None:
        assert self.session is not None
        try:
            envelopes = await self.host.run_async(self.session, command)
        except Exception:
            log.exception("%s: %s failed", self.peer, type(command).__name__)
            envelopes = []
        self._end_busy(envelopes)

    # ------------------------------------------------------------------ replays (Outlet)

    def stream(self, replay: Replay) -> None:
        """Send this history as the client reads it; live output waits until it is out."""
        if self.state is BUSY and self.busy is None:  # in _end_busy: an answer's replay
            self.chained = replay
            return
        if self.state is not OPEN:
            return  # closing, or (a bug) a second replay: nothing more is sent
        self._begin_busy()
        self.host.spawn(self._stream(replay))

    async def _stream(self, replay: Replay) -> None:
        try:
            await stream_replay(self, replay)
        except Exception:  # a store read failed: the client gets what could be read
            log.exception("%s: replay failed", self.peer)
        self._end_busy([])

    def write_now(self, data: bytes, needs: int) -> None:
        """Queue replay bytes ahead of what is held (they come first)."""
        busy, self.busy = self.busy, None
        try:
            self.queue(data, needs)
        finally:
            self.busy = busy

    async def drained(self, low_water: int) -> bool:
        """Until what was queued has left and the kernel's buffer is below `low_water`;
        False if the connection is closing meanwhile."""
        busy = self.busy
        assert busy is not None
        if busy.writable is None:
            busy.writable = asyncio.Event()
        while self.state is BUSY:
            transport = self.transport
            if transport is None:
                return False
            if self.out is None and transport.get_write_buffer_size() <= low_water:
                return True
            busy.writable.clear()
            await busy.writable.wait()
        return False

    # ------------------------------------------------------------------ output (Outlet)

    def queue(self, data: bytes, needs: int) -> None:
        """Owe these bytes to the client; they leave once `needs` is durable."""
        if self.closed:
            return
        host = self.host
        if host.presence_logs:  # presence batched for a big room goes out first, in order
            owed = host.owed_presence(self.session)
            if owed:
                if needs:
                    self.queue(owed, 0)  # a chunk of its own: `data` may have to be dropped
                else:
                    data = owed + data
        busy = self.busy
        if busy is not None:
            busy.held.append((data, needs))
            busy.held_size += len(data)
            if busy.held_size > host.max_buffer * WAITING_FACTOR:
                self.abort("send buffer overflow: client is not reading")
            return
        out = self.out
        if out is None:
            out = self.out = [data]
        else:
            out.append(data)
        self.out_size += len(data)
        if needs:
            marks = self.marks
            if marks is None:
                self.marks = [(len(out) - 1, needs)]
            else:
                marks.append((len(out) - 1, needs))
            if needs > self.needs:
                self.needs = needs
        if not self.dirty:
            self.dirty = True
            host.owe(self)
        if self.out_size > host.max_buffer * WAITING_FACTOR:
            self.abort("send buffer overflow: too much waits for this client")

    def drop_after(self, committed: int) -> None:
        """The store gave up on the messages above `committed`: forget the bytes that carry
        them (nobody was shown them), keep everything else in its order."""
        busy = self.busy
        if busy is not None and busy.held:
            busy.held = [(data, needs) for data, needs in busy.held if needs <= committed]
            busy.held_size = sum(len(data) for data, _ in busy.held)
        marks, out = self.marks, self.out
        if marks is None or out is None or self.needs <= committed:
            return
        waits = dict(marks)
        kept_out: list[bytes] = []
        kept_marks: list[tuple[int, int]] = []
        for index, data in enumerate(out):
            needs = waits.get(index, 0)
            if needs > committed:
                continue
            if needs:
                kept_marks.append((len(kept_out), needs))
            kept_out.append(data)
        self.out = kept_out or None
        self.out_size = sum(map(len, kept_out))
        self.marks = kept_marks or None
        self.needs = max((needs for _, needs in kept_marks), default=0)

    def flush(self) -> None:
        """Write what is queued in one call (the outbox calls it after a commit)."""
        self.dirty = False
        self.needs = 0
        self.marks = None
        transport = self.transport
        if self.closed or transport is None:
            return
        out = self.out
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            self.out = None
            self.out_size = 0
            transport.write(data)
            if transport.get_write_buffer_size() > self.host.max_buffer:
                self.abort("send buffer overflow: client is not reading")
                return
        busy = self.busy
        if busy is not None:
            if busy.writable is not None:
                busy.writable.set()  # a replay waits for its bytes to leave
        elif self.state is CLOSING:
            transport.close()
        elif self.state is DRAINING and self.out is None:
            self._move(DRAINED)
            try:
                if transport.can_write_eof():
                    transport.write_eof()  # after what is buffered; the client closes its side
                    return
            except OSError:  # the client went first (asyncio's own loop raises ENOTCONN)
                pass
            transport.close()

    def close(self, reason: str) -> None:
        """Stop reading; close once what is queued has been written."""
        if self.state is not OPEN and self.state is not BUSY:
            return
        self._move(CLOSING)
        self.close_reason = reason
        if self.transport is not None:
            self.transport.pause_reading()
        if not self.dirty and self.busy is None:
            self.flush()

    def shut(self) -> None:
        """Server shutdown: stop handling input but keep reading it (a socket closed with
        unread input sends a reset), write what is owed, then half-close (flush)."""
        if self.state is not OPEN and self.state is not BUSY:
            return
        busy, self.busy = self.busy, None
        if busy is not None and busy.writable is not None:
            busy.writable.set()  # a replay stops; what it held is stored and comes back
        self._move(DRAINING)  # with `since` on the client's next join
        self.close_reason = "server shutdown"
        self.backlog = None
        if self.transport is not None:
            self.transport.resume_reading()

    def finish(self) -> None:
        """Shutdown: after the half-close, close our side too (nothing is left to read)."""
        if self.state is DRAINED and self.transport is not None:
            self.transport.close()

    def abort(self, reason: str) -> None:
        """Drop the connection now, discarding what it is owed."""
        if self.state is CLOSED:
            return
        self.dropped = True  # logged once, when the transport is gone (Host.detach)
        if self.state is OPEN or self.state is BUSY:
            self._move(CLOSING)
        self.close_reason = reason
        self.out = None
        self.out_size = 0
        self.marks = None
        busy = self.busy
        if busy is not None:
            busy.held = []
            if busy.writable is not None:
                busy.writable.set()
        if self.transport is not None:
            self.transport.abort()

    @property
    def name(self) -> str:
        name = self.session.name if self.session is not None else None
        return name or "(not joined)"

    def info(self) -> dict[str, Any]:
        return {"peer": self.peer, "name": self.name, "dialect": self.codec.dialect}
