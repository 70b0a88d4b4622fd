"""The chat server: listeners, fan-out, the durable-write gate, keep-alive and shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from chinwag.config import ServerConfig
from chinwag.engine.delivery import Delivery
from chinwag.engine.engine import Engine
from chinwag.errors import StoreError
from chinwag.protocol.dialects import codec_factory
from chinwag.protocol.events import Goodbye, KeepAlive, UserJoined, UserLeft
from chinwag.server.connection import DUE, LAZY, Connection
from chinwag.storage.base import Store

log = logging.getLogger("chinwag.server")

_PRESENCE = (UserJoined, UserLeft)

COMMIT_RETRY = 0.25  # seconds between attempts after a failed commit
# Join/leave notices to a room of more than PRESENCE_AUDIENCE members wait for a timer: one
# write per member per delay instead of one per member per join. The delay grows with the
# room (20 ms at 100 members, capped at 100 ms), because so does the rate of joins.
PRESENCE_AUDIENCE = 100
PRESENCE_DELAY = 0.02
PRESENCE_MAX_DELAY = 0.1


def presence_delay(audience: int) -> float:
    return min(PRESENCE_MAX_DELAY, PRESENCE_DELAY * audience / PRESENCE_AUDIENCE)


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
        self._presence_timer: asyncio.TimerHandle | None = None
        self._presence_owed: list[Connection] = []  # owed only presence (state LAZY)
        self._presence_delay = PRESENCE_DELAY
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
            self.dispatch(self.engine.close_session(conn.session, reason))
        log.info("%s disconnected (%s): %s", conn.peer, conn.name, reason)
        if not self.connections:
            self._drained.set()

    # ------------------------------------------------------------------ fan-out

    def dispatch(self, deliveries: Iterable[Delivery]) -> None:
        """Encode each notice once per dialect and queue it for every recipient."""
        for delivery in deliveries:
            notice = delivery.notice
            exclude = delivery.exclude
            needs = delivery.durable_id
            lazy = type(notice) in _PRESENCE and len(delivery.to) > PRESENCE_AUDIENCE
            if lazy:
                self._presence_delay = presence_delay(len(delivery.to))
            cache: dict[Any, bytes] = {}
            # Fast path: most recipients share one always-shared codec class (native).
            fast_class: type | None = None
            fast_data = b""
            for session in delivery.to:
                if session is exclude:
                    continue
                conn: Connection | None = session.outlet
                if conn is None or conn.closed:
                    continue
                codec = conn.codec
                if codec.__class__ is fast_class:
                    data = fast_data
                else:
                    key = codec.share_key(notice)
                    if key is None:
                        data = codec.encode(notice)
                    else:
                        data = cache.get(key)  # type: ignore[assignment]
                        if data is None:
                            data = cache[key] = codec.encode(notice)
                        if codec.always_shared:
                            fast_class, fast_data = codec.__class__, data
                if data:
                    conn.queue(data, needs, lazy)
            if delivery.close is not None:
                for session in delivery.to:
                    if session.outlet is not None:
                        session.outlet.close(delivery.close)

    def mark_dirty(self, conn: Connection, lazy: bool = False) -> None:
        """A connection is owed bytes: write them at the next flush, or on the presence timer.

        Join/leave notices to a room of thousands would otherwise cost every member one
        write per join; on the timer each member gets one write per presence delay.
        """
        if lazy:
            self._presence_owed.append(conn)
            if self._presence_timer is None:
                delay = self._presence_delay
                self._presence_timer = self.loop.call_later(delay, self._presence_due)
            return
        self._dirty.append(conn)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _presence_due(self) -> None:
        self._presence_timer = None
        owed, self._presence_owed = self._presence_owed, []
        for conn in owed:
            if conn.dirty == LAZY:  # not flushed or promoted since
                conn.dirty = DUE
                self._dirty.append(conn)
        self._flush()

    def _flush(self) -> None:
        """Once per loop iteration: commit what the engine wrote, then write out.

        Bytes that depend on a message (its echo, its delivery) never leave before the
        message is durable; a connection waiting on a commit keeps its order.
        """
        self._flush_scheduled = False
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
