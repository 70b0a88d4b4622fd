"""The chat server: listeners, fan-out, the durable-write gate, keep-alive and shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Coroutine, Iterable
from typing import Any

from chinwag.config import ServerConfig
from chinwag.engine.delivery import Delivery
from chinwag.engine.engine import Engine
from chinwag.engine.session import Session
from chinwag.errors import StoreError
from chinwag.protocol.dialects import codec_factory
from chinwag.protocol.events import (
    Chat,
    Command,
    Goodbye,
    KeepAlive,
    Notice,
    UserJoined,
    UserLeft,
)
from chinwag.server.connection import Connection
from chinwag.server.fanout import PresenceLog, Run, encode_for
from chinwag.server.memory import release_free_memory
from chinwag.storage.base import Store

log = logging.getLogger("chinwag.server")

_PRESENCE = (UserJoined, UserLeft)

COMMIT_RETRY = 0.25  # seconds between attempts after a failed commit
# Join/leave notices to a room of more than PRESENCE_AUDIENCE members wait for the presence
# tick: one write per member per tick, whatever the rooms and the joins, instead of one per
# member per join. The delay grows with the room (0.2 ms a member: 2 ms at 10, 20 ms at
# 100, capped at 150 ms), because so does the rate of joins.
PRESENCE_AUDIENCE = 10
PRESENCE_DELAY_PER_MEMBER = 0.0002
PRESENCE_MAX_DELAY = 0.15
# A tick that wrote this many bytes left the allocator holding the buffers of the writes
# the kernel could not take at once; give those pages back (see memory.py).
TRIM_AFTER = 4 << 20


def presence_delay(audience: int) -> float:
    return min(PRESENCE_MAX_DELAY, PRESENCE_DELAY_PER_MEMBER * audience)


def keep_alive(sock: socket.socket, idle: float) -> None:
    """TCP keep-alive, set on a listening socket: accepted sockets inherit it (Linux).

    The kernel then finds half-open peers of every dialect, even those that cannot pong.
    (uvloop and asyncio set TCP_NODELAY on each connection themselves.)
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, int(idle)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


def open_store(config: ServerConfig) -> Store:
    data_dir = config.data_dir
    if data_dir is None:
        from chinwag.storage.memory import MemoryStore

        return MemoryStore()
    from chinwag.storage.sqlite import SQLiteStore

    return SQLiteStore(data_dir / "chinwag.sqlite3")


class ChatServer:
    def __init__(self, config: ServerConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store if store is not None else open_store(config)
        self.engine = Engine(self.store, limits=config.limits)
        self.loop = asyncio.get_running_loop()
        self.connections: set[Connection] = set()
        self.listeners: list[asyncio.Server] = []
        self.ports: dict[int, str] = {}  # bound port -> dialect
        self._dirty: list[Connection] = []
        self._flush_scheduled = False
        self._run: Run | None = None  # room deliveries waiting to be queued as one
        self.presence_logs: dict[str, PresenceLog] = {}  # room key -> presence since the last tick
        self._presence_timer: asyncio.TimerHandle | None = None
        self._committing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._drained = asyncio.Event()
        self._drained.set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.engine.start()
        max_line = self.config.max_line
        for spec in self.config.listeners():
            factory = codec_factory(spec.dialect)

            def protocol(factory: Any = factory) -> Connection:
                return Connection(self, factory(max_line=max_line))

            listener = await self.loop.create_server(
                protocol,
                self.config.host,
                spec.port,
                backlog=4096,
                reuse_port=self.config.reuse_port or None,
            )
            self.listeners.append(listener)
            for sock in listener.sockets:
                keep_alive(sock, self.config.keepalive_interval)
                port = sock.getsockname()[1]
                self.ports[port] = spec.dialect
                log.info("Chat server started on %s:%d (%s)", self.config.host, port, spec.dialect)
        self.spawn(self._keepalive())
        log.info("Waiting for connections...")

    @property
    def port(self) -> int:
        """The main port (useful when the config asked for port 0)."""
        return next(iter(self.ports))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self, reason: str = "Server shutting down") -> None:
        """Tell every client, commit, flush, close; give slow ones `shutdown_grace`."""
        if self._closing:
            return
        self._closing = True
        log.info("Shutting down: %s", reason)
        for listener in self.listeners:
            listener.close()
        self._end_run()
        goodbye = Goodbye(reason)
        conns = list(self.connections)
        for conn in conns:
            conn.queue(conn.codec.encode(goodbye), 0)
            conn.close("server shutdown")
        self._flush()
        if self.connections:
            self._drained.clear()
            try:
                await asyncio.wait_for(self._drained.wait(), self.config.shutdown_grace)
            except TimeoutError:
                for conn in list(self.connections):
                    conn.abort("shutdown grace period over")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for listener in self.listeners:
            await listener.wait_closed()
        await self.store.close()
        log.info("Server stopped")

    # ------------------------------------------------------------------ connections

    def connection_made(self, conn: Connection) -> None:
        if self._closing:
            conn.abort("server shutting down")
            return
        self.connections.add(conn)
        log.info("New connection from %s (%s)", conn.peer, conn.codec.dialect)

    def connection_lost(self, conn: Connection, reason: str) -> None:
        self.connections.discard(conn)
        if conn.session is not None:
            self._end_run()
            self.dispatch(self.engine.close_session(conn.session, reason))
        log.info("%s disconnected (%s): %s", conn.peer, conn.name, reason)
        if not self.connections:
            self._drained.set()

    # ------------------------------------------------------------------ commands

    def handle(self, session: Session, command: Command) -> None:
        """Run a synchronous command and deliver what it says."""
        if type(command) is not Chat:
            self.before_change(session)
        self.dispatch(self.engine.handle(session, command))

    async def handle_async(self, session: Session, command: Command) -> list[Delivery]:
        self.before_change(session)
        return await self.engine.handle_async(session, command)

    def before_change(self, session: Session) -> None:
        """Before the engine may change who is in which room: settle what is batched.

        A run reads its room's members when it ends, and a presence log owes a member
        what came while it was in the room, so both must see the membership of then.
        """
        self._end_run()
        if self.presence_logs:
            cache: dict[Any, bytes] = {}
            owed = b"".join([log.settle(session, cache) for log in self.presence_logs.values()])
            if owed and session.outlet is not None:
                session.outlet.queue(owed, 0)

    # ------------------------------------------------------------------ fan-out

    def dispatch(self, deliveries: Iterable[Delivery]) -> None:
        """Queue each delivery for its recipients, batching what a room is owed.

        Back-to-back deliveries to one room audience become a `Run`, queued to each member
        once; join/leave notices of a big room go to its `PresenceLog` until the presence
        tick. Anything else ends the run first, so every connection keeps the order.
        """
        for delivery in deliveries:
            room = delivery.room
            if room is not None and delivery.close is None:
                if type(delivery.notice) in _PRESENCE and len(delivery.to) > PRESENCE_AUDIENCE:
                    self._log_presence(room, delivery)
                    continue
                run = self._run
                if run is not None and run.takes(delivery):
                    continue
                if run is not None:
                    self._end_run()
                self._run = Run(delivery)
                self._schedule_flush()
                continue
            if self._run is not None:
                self._end_run()
            self._deliver([delivery.notice], delivery.to, delivery.exclude, delivery.durable_id)
            if delivery.close is not None:
                for session in delivery.to:
                    if session.outlet is not None:
                        session.outlet.close(delivery.close)

    def _end_run(self) -> None:
        run, self._run = self._run, None
        if run is not None:
            self._deliver(run.notices, run.to, run.exclude, run.needs)

    def _deliver(
        self,
        notices: list[Notice],
        to: Iterable[Session],
        exclude: Session | None,
        needs: int,
    ) -> None:
        """Encode once per dialect (or per connection where the codec says so) and queue."""
        cache: dict[Any, bytes] = {}
        # Fast path: most recipients share one always-shared codec class (native).
        fast_class: type | None = None
        fast_data = b""
        for session in to:
            if session is exclude:
                continue
            conn: Connection | None = session.outlet
            if conn is None or conn.closed:
                continue
            codec = conn.codec
            if codec.__class__ is fast_class:
                data = fast_data
            elif codec.always_shared:
                data = cache.get(codec.__class__)  # type: ignore[assignment]
                if data is None:
                    data = cache[codec.__class__] = encode_for(codec, notices, 0, cache)
                fast_class, fast_data = codec.__class__, data
            else:
                data = encode_for(codec, notices, 0, cache)
            if data:
                conn.queue(data, needs)

    def _log_presence(self, room: str, delivery: Delivery) -> None:
        """A join/leave in a big room: one entry in its log instead of a write per member."""
        self._end_run()
        log = self.presence_logs.get(room)
        if log is None:
            log = self.presence_logs[room] = PresenceLog(delivery.to)
            # One tick for all rooms, as late as the biggest pending room allows: a member
            # of several rooms is then written once per tick, not once per room.
            due = self.loop.time() + presence_delay(len(delivery.to))
            timer = self._presence_timer
            if timer is None or timer.when() < due:
                if timer is not None:
                    timer.cancel()
                self._presence_timer = self.loop.call_at(due, self._presence_due)
        log.append(delivery)

    def owed_presence(self, session: Session | None) -> bytes:
        """Presence a connection is owed, to go out before anything else it is sent now."""
        if session is None:
            return b""
        outlet = session.outlet
        if outlet is None:
            return b""
        cache: dict[Any, bytes] = {}
        owed = b""
        for key in session.rooms:
            log = self.presence_logs.get(key)
            if log is not None:
                owed += log.owed(session, outlet.codec, cache)
        return owed

    def _presence_due(self) -> None:
        """The presence tick: every member of every logged room gets what it is owed."""
        self._presence_timer = None
        self._end_run()
        logs, self.presence_logs = self.presence_logs, {}
        written = 0
        for log in logs.values():
            cache: dict[Any, bytes] = {}
            for session in log.to:
                conn = session.outlet
                if conn is None or conn.closed:
                    continue
                data = log.owed(session, conn.codec, cache)
                if data:
                    written += len(data)
                    conn.queue(data, 0)
        self._flush()
        if written > TRIM_AFTER:
            release_free_memory()

    def mark_dirty(self, conn: Connection) -> None:
        """A connection is owed bytes: write them at the next flush."""
        self._dirty.append(conn)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Once per loop iteration: commit what the engine wrote, then write out.

        Bytes that depend on a message (its echo, its delivery) never leave before the
        message is durable; a connection waiting on a commit keeps its order.
        """
        self._flush_scheduled = False
        if self._run is not None:
            self._end_run()
        store = self.store
        if store.pending and not self._committing:
            try:
                if not store.commit_now():
                    self._committing = True
                    self.spawn(self._commit())
            except StoreError as exc:
                self._commit_failed(exc)
        committed = store.committed_id
        waiting: list[Connection] = []
        for conn in self._dirty:
            if conn.needs > committed:
                waiting.append(conn)
            else:
                conn.flush()
        self._dirty = waiting

    async def _commit(self) -> None:
        failed: StoreError | None = None
        try:
            await self.store.commit()
        except StoreError as exc:
            failed = exc
        finally:
            self._committing = False
        if failed is None:
            self._flush()
        else:
            self._commit_failed(failed)

    def _commit_failed(self, exc: StoreError) -> None:
        """The store kept the writes and what depends on them waits: retry a little later."""
        log.error("%s; retrying in %g s", exc, COMMIT_RETRY)
        if self._closing and not self.connections:
            return
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_later(COMMIT_RETRY, self._flush)

    # ------------------------------------------------------------------ keep-alive

    async def _keepalive(self) -> None:
        cfg = self.config
        period = max(0.05, min(cfg.keepalive_interval, cfg.join_timeout) / 4)
        while True:
            await asyncio.sleep(period)
            self.sweep()

    def sweep(self) -> None:
        """Ping silent clients, drop dead ones and those that never joined."""
        self._end_run()
        now = self.loop.time()
        cfg = self.config
        stamp = self.engine.clock()
        for conn in list(self.connections):
            silent = now - conn.last_seen
            joined = conn.session is not None and conn.session.joined
            if not joined and now - conn.opened > cfg.join_timeout:
                conn.queue(conn.codec.encode(Goodbye("Join timeout")), 0)
                conn.close("did not join in time")
            elif conn.answers_pings and silent > cfg.keepalive_timeout:
                conn.abort(f"no reply to keep-alive in {cfg.keepalive_timeout:g} s")
            elif silent > cfg.keepalive_interval and not conn.pinged and joined:
                conn.pinged = True
                ping = conn.codec.encode(KeepAlive(stamp))
                if ping:  # dialects without a ping encode nothing
                    conn.queue(ping, 0)
