"""The chat server: wires the parts, and is the `Host` its connections talk to.

listeners (listeners.py) -> connections (connection.py) -> engine -> envelopes
-> bus (chinwag.bus) -> fan-out (fanout.py) -> outlets -> outbox (outbox.py) -> sockets
keep-alive (keepalive.py) and shutdown (shutdown.py) run beside them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from chinwag import __version__
from chinwag.bus.base import Bus, Envelope
from chinwag.bus.local import InProcessBus
from chinwag.config import ServerConfig
from chinwag.engine.engine import Engine
from chinwag.engine.facts import FactListeners
from chinwag.engine.limits import wall_clock
from chinwag.engine.session import Session
from chinwag.errors import ConfigError, StoreError
from chinwag.passwords import Passwords
from chinwag.protocol.dialects import codec_factory
from chinwag.protocol.events import Command, Error, ErrorCode, Goodbye, StoredNotice
from chinwag.protocol.framing import LineFraming
from chinwag.server.connection import Connection
from chinwag.server.fanout import FanOut
from chinwag.server.files import FileService
from chinwag.server.keepalive import KeepAliveSweep
from chinwag.server.listeners import FrontEnd, Listener, TcpListener
from chinwag.server.nodes import NodePresence
from chinwag.server.outbox import Outbox
from chinwag.server.presence import PresenceLog
from chinwag.server.sequencer import Sequencer
from chinwag.server.shutdown import shut_down
from chinwag.server.tls import ServerTls
from chinwag.server.websocket import WebListener
from chinwag.storage.base import Store

log = logging.getLogger("chinwag.server")


def open_bus(config: ServerConfig) -> Bus:
    """The in-process bus, or the NATS bus the config names (nats-py, the `nats` extra)."""
    if not config.bus:
        return InProcessBus()
    try:
        from chinwag.bus.nats import NatsBus
    except ImportError as exc:
        raise ConfigError(
            f"--bus {config.bus} needs nats-py: pip install 'chinwag[nats]' ({exc})"
        ) from None
    return NatsBus(config.bus, prefix=config.bus_prefix)


def open_store(config: ServerConfig) -> Store:
    if config.store:
        return _networked_store(config)
    data_dir = config.data_dir
    if data_dir is None:
        if config.reuse_port:
            raise ConfigError(
                "--reuse-port lets several server processes share the port, which needs a "
                "store they share; with --data :memory: each would be a separate chat"
            )
        from chinwag.storage.memory import MemoryStore

        return MemoryStore()
    from chinwag.storage.sqlite import SQLiteStore

    return SQLiteStore(data_dir / "chinwag.sqlite3", query_budget=config.query_budget)


def _networked_store(config: ServerConfig) -> Store:
    from chinwag.storage.address import is_postgres_url

    if not is_postgres_url(config.store):
        raise ConfigError(
            f"store {config.store_shown()!r} is not known: give a postgresql://... address,"
            " or nothing for SQLite in the data folder"
        )
    try:
        from chinwag.storage.postgres import PostgresStore
    except ImportError:
        raise ConfigError(
            "the PostgreSQL store needs asyncpg: pip install 'chinwag[postgres]'"
        ) from None
    return PostgresStore(config.store, query_budget=config.query_budget)


# Times the accounts are read again when logins or registrations finished while they were
# read (ChatServer.reload_accounts); the last read is applied in any case.
RELOAD_READS = 5

# File descriptors kept for what is not a client: listening sockets, the store's files,
# the log, the threads' wake-up pipes.
RESERVED_FDS = 64


def connection_limit() -> int:
    """As many connections as the process may open files, less a reserve (run.py raises
    the soft limit to the hard one at start)."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return 10_000
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(16, soft - RESERVED_FDS)


def line_front_end(dialect: str, max_line: int) -> FrontEnd:
    """A byte-stream front end: bounded lines and one dialect's codec."""
    return FrontEnd(dialect, codec_factory(dialect), lambda: LineFraming(max_line))


class ChatServer:
    def __init__(
        self, config: ServerConfig, store: Store | None = None, bus: Bus | None = None
    ) -> None:
        self.config = config
        self.loop = asyncio.get_running_loop()
        # Before the store opens: a certificate that does not load leaves nothing behind.
        tls_files = config.tls_files()
        self.tls = ServerTls(*tls_files) if tls_files else None
        self.store = store if store is not None else open_store(config)
        self.passwords = Passwords(config.password_profile)
        self.engine = Engine(self.store, limits=config.limits, passwords=self.passwords)
        self.bus = bus if bus is not None else open_bus(config)
        # A store that numbers messages at commit (PostgreSQL, shared by nodes): the
        # sequencer holds what carries an id until its commit and keeps rooms in id order.
        self.sequencer: Sequencer | None = None
        committed: Callable[[int], None] | None = None
        if not isinstance(self.bus, InProcessBus):
            committed = self.bus.durable
        if self.store.ids_at_commit:
            committed = self._released
        self.outbox = Outbox(
            self.store,
            self.loop,
            spawn=self.spawn,
            before_flush=self.settle,
            gave_up=self._gave_up,
            health=self._store_health,
            grace=config.store_grace,
            # A broker bus sends a message to other nodes once it is durable; in-process,
            # every node's fan-out gates on the one store, and nothing changes.
            committed=committed,
        )
        self.fanout = FanOut(
            self.engine.memberships,
            self.bus,
            self.loop,
            schedule_flush=self.outbox.schedule,
            flush=self.outbox.flush,
        )
        self._publish = self.bus.publish  # one envelope of the engine's
        receiver = self.fanout.receive
        if self.store.ids_at_commit:
            self.sequencer = Sequencer(
                self.store,
                self.bus,
                self.fanout.receive,
                spawn=self.spawn,
                schedule_commit=self.outbox.schedule,
                members=self.engine.memberships.members,
            )
            self._publish = self.sequencer.publish
            receiver = self.sequencer.receive
            if hasattr(self.bus, "on_reconnect"):
                self.bus.on_reconnect = self.sequencer.catch_up_soon
        # Shared presence: what this node tells the others, and its replica of theirs.
        self.nodes = NodePresence(
            self.engine,
            self.bus,
            self.loop,
            publish=self.publish,
            deliver_here=receiver,
        )
        self.engine.listen(FactListeners(self.fanout, self.nodes))
        self.bus.attach(receiver)
        self.owe = self.outbox.owe  # Host.owe: the outbox's own method, one call less
        self.max_buffer = config.max_buffer
        self.max_connections = config.max_connections or connection_limit()
        self._refused = 0
        self.max_per_ip = config.max_per_ip
        self.exempt = frozenset(config.limits.limit_exempt)
        self.per_address: dict[str, int] = {}  # open connections by client address
        self._refused_per_ip = 0
        self.presence_logs: dict[str, PresenceLog] = self.fanout.presence_logs
        self.connections: set[Connection] = set()
        self.listeners: list[Listener] = [
            TcpListener(
                config.host,
                spec.port,
                line_front_end(spec.dialect, config.max_line),
                keepalive_idle=config.keepalive_interval,
                reuse_port=config.reuse_port,
            )
            for spec in config.listeners()
        ]
        self.tls_listener: TcpListener | None = None
        if self.tls is not None:  # the main port's front end, over TLS
            self.tls_listener = TcpListener(
                config.host,
                config.tls_port,
                line_front_end("auto", config.max_line),
                keepalive_idle=config.keepalive_interval,
                reuse_port=config.reuse_port,
                ssl_context=self.tls.context,
                handshake_timeout=config.tls_handshake_timeout,
            )
            self.listeners.append(self.tls_listener)
        self.web_listener: WebListener | None = None
        self.files: FileService | None = None
        if config.http_port:  # the page, /ws, /health, /metrics (chinwag.web)
            self.web_listener = self._web_listener()
            self.listeners.append(self.web_listener)
        self.ports: dict[int, str] = {}  # bound port -> dialect
        self.started_at = time.monotonic()
        self.first_id = 0  # the store's last id at start: messages_stored() counts from it
        self.slow_cuts = 0  # connections dropped for not reading (/metrics)
        self.keepalive = KeepAliveSweep(self.connections, config, self.loop, settle=self.settle)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.closing = False
        self.drained = asyncio.Event()
        self.drained.set()
        self.started = False
        self._reload_wanted = False  # an admin changed accounts (SIGUSR1): read them again
        self._reloading = False

    def _web_listener(self) -> WebListener:
        from chinwag.web.metrics import Metrics
        from chinwag.web.site import WebSite

        config = self.config
        self.files = FileService(self)
        site = WebSite(
            health=self.health,
            metrics=Metrics(self).render,
            origins=config.http_origin,
            secure=self.tls is not None,
        )
        return WebListener(
            config.host,
            max(0, config.http_port),  # -1: any free port
            site,
            max_line=config.max_line,
            keepalive_idle=config.keepalive_interval,
            reuse_port=config.reuse_port,
            ssl_context=self.tls.context if self.tls is not None else None,
            files=self.files,
        )

    # ------------------------------------------------------------------ lifecycle

    def add_listener(self, listener: Listener) -> None:
        """Serve one more front end (before start)."""
        self.listeners.append(listener)

    async def start(self) -> None:
        await self.engine.start()
        self.first_id = self.store.last_id
        listen = getattr(self.store, "listen_accounts", None)
        if listen is not None:  # `chinwag user` on a shared store tells every node (NOTIFY)
            await listen(self.reload_accounts_soon)
        if self.sequencer is not None:
            self.sequencer.start()
        elif not isinstance(self.bus, InProcessBus):
            self.bus.durable(self.store.committed_id)  # from now on, frames wait for commits
            log.warning(
                "Bus %s: a preview. Nodes share rooms, but each store hands out its own "
                "ids until they share one (PostgreSQL): give nodes one store",
                self.config.bus or type(self.bus).__name__,
            )
        await self.bus.start()
        self.nodes.start()
        for listener in self.listeners:
            for port in await listener.start(self):
                self.ports[port] = listener.front_end.dialect
                log.info(
                    "Chat server started on %s:%d (%s%s)",
                    self.config.host,
                    port,
                    listener.front_end.dialect,
                    ", TLS" if listener.secure else "",
                )
        if self.http_port is not None:
            scheme = "https" if self.tls is not None else "http"
            log.info("Web page: %s://%s:%d/", scheme, self.config.host, self.http_port)
        self.spawn(self.keepalive.run())
        self.started = True
        if self._reload_wanted:  # signalled while starting
            self.reload_accounts_soon()
        log.info("Waiting for connections...")

    @property
    def port(self) -> int:
        """The main port (useful when the config asked for port 0)."""
        return next(iter(self.ports))

    @property
    def tls_port(self) -> int | None:
        """The TLS port bound (useful when the config asked for port 0); None without TLS."""
        listener = self.tls_listener
        return listener.bound[0] if listener is not None and listener.bound else None

    @property
    def http_port(self) -> int | None:
        """The web front end's port bound; None when it is off."""
        listener = self.web_listener
        return listener.bound[0] if listener is not None and listener.bound else None

    def messages_stored(self) -> int:
        return self.store.last_id - self.first_id

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def shutdown(self, reason: str = "Server shutting down") -> None:
        """Tell every client, commit, flush, close; give slow ones `shutdown_grace`."""
        if self.closing:
            return
        self.closing = True
        await shut_down(self, reason)

    # ------------------------------------------------------------------ accounts (chinwag user)

    def reload_accounts_soon(self) -> None:
        """SIGUSR1 (run.py): an admin changed accounts from the command line (chinwag.admin).

        One reload runs at a time, as a task; signals that arrive meanwhile make one more,
        which reads what they changed. A signal before start() has finished waits for it."""
        self._reload_wanted = True
        if self._reloading or not self.started or self.closing:
            return
        self._reloading = True
        self.spawn(self._reload_while_wanted())

    async def _reload_while_wanted(self) -> None:
        try:
            while self._reload_wanted and not self.closing:
                self._reload_wanted = False
                await self.reload_accounts()
        finally:
            self._reloading = False

    async def reload_accounts(self) -> None:
        """Read the accounts and the live tokens again and apply them (Engine.accounts_changed):
        sessions of deleted accounts or revoked tokens end, roles follow.

        Logins and registrations go on while the store is read, so the read is repeated
        when one finished meanwhile (its new token, or its new account, would look revoked
        or deleted). `commit()` first: it comes after every account write begun before it
        (SQLite's writes share one lock; the memory store's do not wait), so a registration
        under way is in what is read."""
        engine, store = self.engine, self.store
        try:
            for _ in range(RELOAD_READS):
                known, tokens = set(engine.registered), set(engine.tokens.values())
                await store.commit()
                now = wall_clock()
                records = await store.accounts()
                live = await store.live_tokens(list(tokens), now)
                if engine.registered <= known | {r.key for r in records} and (
                    set(engine.tokens.values()) <= tokens
                ):
                    break
        except StoreError as exc:
            log.error("Cannot read the accounts an admin changed: %s", exc)
            return
        envelopes = engine.accounts_changed(records, live, wall_clock())
        self.publish(envelopes)
        ended = sum(isinstance(e.notice, Goodbye) for e in envelopes)
        log.info(
            "Accounts reloaded after an admin's change: %d in all, %d sessions signed out",
            len(records),
            ended,
        )

    # ------------------------------------------------------------------ Host (connections)

    def attach(self, conn: Connection) -> Session | Error | None:
        if self.closing:
            return None
        if len(self.connections) >= self.max_connections:
            self._refused += 1
            if self._refused == 1 or self._refused % 1000 == 0:  # a flood is logged, not each
                log.warning(
                    "Refused %d connections: the server holds its maximum of %d",
                    self._refused,
                    self.max_connections,
                )
            return Error(ErrorCode.TOO_MANY_CONNECTIONS, "The server is full; try again later")
        address = self._limited_address(conn)
        if address is not None:
            count = self.per_address.get(address, 0)
            if count >= self.max_per_ip:
                self._refused_per_ip += 1
                if self._refused_per_ip == 1 or self._refused_per_ip % 1000 == 0:
                    log.warning(
                        "Refused %d connections over the limit of %d per address (latest: %s)",
                        self._refused_per_ip,
                        self.max_per_ip,
                        address,
                    )
                return Error(
                    ErrorCode.TOO_MANY_CONNECTIONS,
                    f"Too many connections from your address (at most {self.max_per_ip})",
                )
            self.per_address[address] = count + 1
        self.connections.add(conn)
        log.info("New connection from %s (%s)", conn.peer, conn.codec.dialect)
        return self.engine.open_session(peer=conn.peer, dialect=conn.codec.dialect, outlet=conn)

    def detach(self, conn: Connection, reason: str) -> None:
        if conn.session is None:  # refused at attach (logged there, in bulk)
            return
        self.connections.discard(conn)
        address = self._limited_address(conn)
        if address is not None:
            left = self.per_address.pop(address, 1) - 1
            if left > 0:
                self.per_address[address] = left
        self.publish(self.engine.close_session(conn.session, reason, wall_clock()))
        if conn.dropped:  # the server cut it: once, as a warning
            if reason.startswith("send buffer overflow"):
                self.slow_cuts += 1
            log.warning("%s: dropped %s: %s", conn.peer, conn.name, reason)
        else:
            log.info("%s disconnected (%s): %s", conn.peer, conn.name, reason)
        if not self.connections:
            self.drained.set()

    def _limited_address(self, conn: Connection) -> str | None:
        """The client's address if `max_per_ip` counts it (not exempt, limit on)."""
        if not self.max_per_ip:
            return None
        address = conn.peer.rpartition(":")[0]
        return None if address in self.exempt else address

    def reads_store(self, command: Command) -> bool:
        return self.engine.is_async(command)

    def run(self, session: Session, command: Command) -> float:
        now = wall_clock()
        wait = self.engine.take_command(session, now)
        if wait:
            return wait
        envelopes = self.engine.handle(session, command, now)
        if self.sequencer is not None:
            self.sequencer.publish_all(envelopes, session)
            return 0.0
        publish = self.bus.publish
        for envelope in envelopes:
            publish(envelope)
        return 0.0

    def take_command(self, session: Session) -> float:
        return self.engine.take_command(session, wall_clock())

    def run_async(self, session: Session, command: Command) -> Awaitable[list[Envelope]]:
        return self.engine.handle_async(session, command, wall_clock())

    def publish(self, envelopes: list[Envelope]) -> None:
        publish = self._publish
        for envelope in envelopes:
            publish(envelope)

    def settle(self) -> None:
        self.fanout.end_run()

    # ------------------------------------------------------------------ a failing store

    def _gave_up(self, dropped: list[StoredNotice]) -> None:
        """The outbox gave up storing these: nobody may receive them, their senders learn."""
        committed = self.store.committed_id
        for conn in self.connections:
            conn.drop_after(committed)
        self.bus.forget({notice.id for notice in dropped})
        if self.sequencer is not None:
            self.sequencer.forget({notice.id for notice in dropped})
        self.publish(self.engine.forget(dropped))

    def _released(self, committed: int) -> None:
        """A commit ended: what waited for final ids goes out (self.sequencer)."""
        assert self.sequencer is not None
        self.sequencer.release()

    def _store_health(self, ok: bool) -> None:
        self.engine.storing = ok

    def health(self) -> dict[str, Any]:
        """What a health check reports (the web front end serves it as /health)."""
        outbox = self.outbox
        return {
            "version": __version__,
            "pid": os.getpid(),  # which process answered: workers share the port
            "uptime": round(time.monotonic() - self.started_at, 3),
            "connections": len(self.connections),
            "online": self.engine.online(),
            "store": "ok"
            if outbox.failing_since is None
            else ("sick" if outbox.sick else "failing"),
        }

    def owed_presence(self, session: Session | None) -> bytes:
        return self.fanout.owed_presence(session)

    def durable(self, message_id: int) -> Awaitable[None]:
        return self.outbox.durable(message_id)
