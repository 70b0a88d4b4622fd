"""The PostgreSQL store (`chinwag serve --store postgresql://...`), over asyncpg.

- Message ids follow commit order across every server sharing the database: `next_id` hands
  out *provisional* ids from a counter in this process (synchronous, no network), and each
  commit takes the final ids from the `id_counters` row inside its transaction (its row lock
  serialises committers, so id order is commit order, without gaps) and maps the provisional
  ones to them (`settled`, with the room's previous message id for gap detection). The
  server sends nothing that carries an id before that (server/sequencer.py). Audit ids are
  reserved in blocks ahead of need (postgres_ids.py).
- Writes are buffered in memory, in the SQLite store's format (sqlite_ops.Batch), and
  `commit()` writes everything since the last commit as one transaction, with
  synchronous_commit on: when it returns, the batch is durable (the outbox echoes after it).
  Every write of a batch is idempotent (inserts do nothing on a conflict), so a commit whose
  outcome was lost with the connection can simply be retried.
- Nothing waits on the event loop: asyncpg talks to the server asynchronously, on the loop,
  and decodes rows in C. Reads run on a pool of their own whose connections have
  statement_timeout = the query budget: a read over it raises QueryTooExpensive.
- A deleted message's text and words leave its row at once; VACUUM, `purge_delay` later,
  drops the old row version that still holds them and its index entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from chinwag.errors import QueryTooExpensive, StoreError
from chinwag.protocol.events import PrivateMessage, StoredNotice
from chinwag.storage import postgres_ops as ops
from chinwag.storage import sqlite_ops
from chinwag.storage.address import shown
from chinwag.storage.base import (
    AccountRecord,
    AuditRecord,
    RoomRecord,
    Sanction,
    Store,
    StoreState,
)
from chinwag.storage.postgres_ids import IdBlocks

T = TypeVar("T")
log = logging.getLogger("chinwag.storage")

# What a failing database raises through asyncpg: server errors, a lost or refused
# connection, a timeout.
FAILURES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection the server closed in the middle of a query
    OSError,
    TimeoutError,
)
CONNECT_TIMEOUT = 10.0  # seconds to open a connection
WRITE_TIMEOUT = 30.0  # seconds one write statement may take before the commit fails
BIG_BATCH = 2000  # messages: a commit this big prepares its rows in a thread
VACUUM_TIMEOUT = 3600.0  # seconds: a big table's VACUUM runs long, beside the commits


class PostgresStore(Store):
    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        query_budget: float = 1.0,
        readers: int = 2,
        purge_delay: float = 60.0,
    ) -> None:
        self.dsn = dsn
        self.where = shown(dsn)
        self.schema = schema  # tables in this schema (made if missing): tests use one each
        self.query_budget = query_budget  # read at open (statement_timeout of the readers)
        self.readers = readers
        self.purge_delay = purge_delay
        self._writes: asyncpg.Pool | None = None  # commits, account writes, id reservations
        self._reads: asyncpg.Pool | None = None
        self._node = uuid.uuid4().hex  # names this process's commits (node_commits)
        self._last = 0  # the last provisional id handed out
        self._base = 0  # provisional ids up to this one are committed (or given up)
        self._uncertain = False  # a commit of messages failed: it may have gone through
        self._finals: dict[int, tuple[int, int]] = {}  # provisional -> (final, prev)
        self._audit_ids = IdBlocks("audit", self._reserve, block=50)
        self._commit_lock = asyncio.Lock()
        self._batch = sqlite_ops.Batch()
        self._appended_id = 0
        self._committed_id = 0
        self._listener: asyncpg.Connection[Any] | None = None  # LISTENs for accounts
        self._current_schema = ""
        self._purge_due: asyncio.TimerHandle | None = None
        self._purge_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def _settings(self, **extra: str) -> dict[str, str]:
        settings = {"application_name": "chinwag", **extra}
        if self.schema is not None:
            settings["search_path"] = self.schema
            settings["application_name"] = f"chinwag {self.schema}"
        return settings

    async def _pool(self, size: int, **settings: str) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=size,
            timeout=CONNECT_TIMEOUT,
            command_timeout=WRITE_TIMEOUT,
            server_settings=self._settings(**settings),
        )
        assert pool is not None
        return pool

    async def open(self) -> StoreState:
        if self._writes is not None:
            raise StoreError(f"{self.where} is already open")
        try:
            if self.schema is not None:
                first = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
                try:
                    await first.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                finally:
                    await first.close()
            # synchronous_commit on: a commit returns once it is on disk, whatever the
            # server's default says (the echo means "stored").
            self._writes = await self._pool(3, synchronous_commit="on")
            budget = max(1, round(self.query_budget * 1000))
            self._reads = await self._pool(
                self.readers, statement_timeout=str(budget), default_transaction_read_only="on"
            )
            async with self._writes.acquire() as db:
                await ops.migrate(db, self.where)
                state = await ops.load(db)
                self._current_schema = str(await db.fetchval("SELECT current_schema()"))
                audit_last = await ops.counter(db, "audit")
            self._last = self._base = state.last_id
            self._audit_ids.start(audit_last)
            await self._audit_ids.fill()
        except BaseException as exc:
            await self._close_pools()
            if isinstance(exc, FAILURES):
                raise StoreError(f"cannot open {self.where}: {exc}") from exc
            raise
        self._appended_id = self._committed_id = state.last_id
        self._batch = sqlite_ops.Batch()
        return state

    async def schema_version(self) -> int:
        return await self._write_now(ops.schema_version)

    async def close(self) -> None:
        if self._writes is None:
            return
        try:
            await self.commit()
            if self._purge_due is not None:  # a deleted text must not outlive a shutdown
                self._purge_due.cancel()
                self._purge_due = None
                await self.purge()
            if self._purge_task is not None:
                await self._purge_task
        finally:
            ids = self._audit_ids
            await ids.settle()
            tail = ids.unused_tail()
            if tail is not None:
                with contextlib.suppress(*FAILURES):
                    await self._write_now(ops.give_back, ids.name, *tail)
            await self._close_pools()

    async def listen_accounts(self, changed: Callable[[], None]) -> None:
        """Call `changed` whenever `chinwag user` changed accounts on this schema (NOTIFY,
        admin_postgres.py), on a connection of its own. If that connection is lost, the
        changes are applied at the next restart (or the next login, for a new account)."""
        from chinwag.admin_postgres import accounts_channel

        try:
            self._listener = await asyncpg.connect(
                self.dsn, timeout=CONNECT_TIMEOUT, server_settings=self._settings()
            )
            await self._listener.add_listener(
                accounts_channel(self._current_schema), lambda *_: changed()
            )
        except FAILURES as exc:
            log.warning("Cannot listen for account changes on %s: %s", self.where, exc)

    async def _close_pools(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(*FAILURES):
                await asyncio.wait_for(listener.close(), CONNECT_TIMEOUT)
        pools = [p for p in (self._writes, self._reads) if p is not None]
        self._writes = self._reads = None
        for pool in pools:
            try:
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT)
            except FAILURES:
                pool.terminate()

    # ------------------------------------------------------------------ ids

    async def _reserve(self, name: str, count: int) -> int:
        return await self._write_now(ops.reserve, name, count)

    def next_id(self) -> int:
        self._last += 1
        return self._last

    @property
    def last_id(self) -> int:
        return self._last

    ids_at_commit = True

    def settled(self, provisional: int) -> tuple[int, int] | None:
        return self._finals.pop(provisional, None)

    async def last_committed(self) -> int:
        return await self._read(ops.counter, "messages")

    # ------------------------------------------------------------------ buffered writes

    def append(
        self, notice: StoredNotice, *, parties: tuple[str | None, str | None] = (None, None)
    ) -> None:
        if not self._appended_id < notice.id <= self._last:
            raise StoreError(f"message id {notice.id} was not handed out next by this store")
        batch = self._batch
        if not batch.first:
            batch.first = notice.id
        batch.top = self._appended_id = notice.id
        if isinstance(notice, PrivateMessage):
            batch.privates.append(sqlite_ops.private_row(notice, parties))
        else:
            batch.messages.append(sqlite_ops.room_row(notice))

    def save_room(self, room: RoomRecord) -> None:
        self._batch.rooms[room.name.casefold()] = RoomRecord(
            room.name, room.topic, topic_by=room.topic_by, topic_at=room.topic_at
        )

    def delete_room(self, room_key: str) -> None:
        self._batch.delete_room(room_key)

    def save_membership(self, account: str, room_key: str, member: bool) -> None:
        self._batch.memberships[(account, room_key)] = member

    def _moderate(self, room_key: str, sql: str, params: tuple[Any, ...]) -> None:
        self._batch.moderation.append((room_key, sql, params))

    def record(self, entry: AuditRecord) -> int:
        number = self._audit_ids.take()
        e, p = entry, ops.plain
        self._moderate(
            "",
            ops.RECORD_AUDIT,
            (number, e.timestamp, p(e.actor), e.action, p(e.target), p(e.room),
             p(e.room).casefold(), p(e.reason), e.until),
        )  # fmt: skip
        return number

    def save_sanction(self, sanction: Sanction) -> None:
        s, p = sanction, ops.plain
        self._moderate(
            s.room_key,
            ops.SAVE_SANCTION,
            (s.kind, s.room_key, s.subject, s.until, p(s.reason), p(s.by), p(s.name)),
        )

    def lift_sanction(self, kind: str, room_key: str, subject: str) -> None:
        self._moderate(room_key, ops.LIFT_SANCTION, (kind, room_key, subject))

    def save_room_role(self, room_key: str, account: str, role: str | None) -> None:
        if role is None:
            self._moderate(room_key, ops.DROP_ROOM_ROLE, (room_key, account))
        else:
            self._moderate(room_key, ops.SAVE_ROOM_ROLE, (room_key, account, role))

    def save_room_modes(self, room_key: str, modes: tuple[str, ...]) -> None:
        self._moderate(room_key, ops.SAVE_ROOM_MODES, (room_key, ",".join(modes)))

    def save_invite(self, room_key: str, account: str, invited: bool) -> None:
        sql = ops.SAVE_INVITE if invited else ops.DROP_INVITE
        self._moderate(room_key, sql, (room_key, account))

    def delete_message(self, message_id: int) -> None:
        self._moderate("", ops.DELETE_MESSAGE, (message_id,))
        self._batch.purge = True

    def discard(self) -> list[StoredNotice]:
        batch = self._batch
        rows = (*batch.messages, *batch.privates)
        dropped = sorted((sqlite_ops.from_buffered(row) for row in rows), key=lambda n: n.id)
        batch.messages, batch.privates = [], []
        batch.first = batch.top = 0
        self._appended_id = self._last  # what was dropped is never handed out again
        return dropped

    @property
    def pending(self) -> int:
        return len(self._batch)

    @property
    def committed_id(self) -> int:
        return self._committed_id

    # ------------------------------------------------------------------ commits

    async def commit(self) -> None:
        async with self._commit_lock:  # one at a time, in order: no later batch overtakes
            batch = self._batch
            if not batch:
                return
            self._batch = sqlite_ops.Batch()
            try:
                audit = self._audit_ids
                await audit.covered(audit.last, audit.last, voids=False)
                todo = await _statements(batch)
                if batch.first:
                    # the first statement inserts the messages: under their final ids
                    finals = await self._write_now(
                        ops.write_sequenced,
                        todo,
                        self._node,
                        self._base,
                        batch.top,
                        self._uncertain,
                    )
                else:
                    await self._write_now(ops.write, todo)
            except StoreError:
                if batch.first:
                    self._uncertain = True  # the next try asks whether this one went through
                batch.merge_newer(self._batch)  # kept for the next commit
                self._batch = batch
                raise
            if batch.first:
                self._uncertain = False
                self._finals.update(finals)
                self._committed_id = self._base = batch.top
            if batch.purge:
                self._purge_soon()

    async def probe(self) -> None:
        await self._write_now(ops.probe)

    async def _write_now(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """One durable write (its own transaction or the caller's) on a writer connection."""
        if self._writes is None:
            raise StoreError("the store is not open")
        try:
            async with self._writes.acquire() as db:
                return await fn(db, *args)
        except FAILURES as exc:
            raise StoreError(f"write to {self.where} failed: {exc}") from exc

    # ------------------------------------------------------------------ purge (VACUUM)

    async def purge(self) -> None:
        """Drop dead row versions (a deleted message's old text and words) and their index
        entries now. VACUUM does not block inserts or reads."""
        await self._write_now(_vacuum)

    def _purge_soon(self) -> None:
        if self._purge_due is not None or self._writes is None:
            return
        loop = asyncio.get_running_loop()

        def start() -> None:
            self._purge_due = None
            self._purge_task = loop.create_task(self._purge_quietly())

        self._purge_due = loop.call_later(self.purge_delay, start)

    async def _purge_quietly(self) -> None:
        try:
            await self.purge()
        except StoreError as exc:
            log.warning("VACUUM after a deletion failed (tried again later): %s", exc)
            self._purge_task = None
            self._purge_soon()
        finally:
            self._purge_task = None

    # ------------------------------------------------------------------ reads

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        if self._reads is None:
            raise StoreError("the store is not open")
        try:
            async with self._reads.acquire() as db:
                return await fn(db, *args)
        except asyncpg.QueryCanceledError:
            raise QueryTooExpensive(
                f"the query ran over its {self.query_budget:g} s budget"
            ) from None
        except FAILURES as exc:
            raise StoreError(f"read from {self.where} failed: {exc}") from exc

    async def message(self, message_id: int) -> StoredNotice | None:
        return await self._read(ops.message, message_id)

    async def audit(
        self, room_key: str | None, since: float | None, limit: int
    ) -> list[AuditRecord]:
        return await self._read(ops.audit, room_key, since, limit)

    async def recent(self, room_key: str, limit: int) -> list[StoredNotice]:
        return await self.history(room_key, limit=limit)

    async def history(
        self,
        room_key: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[StoredNotice]:
        return await self._read(ops.history, room_key, before, after, limit)

    async def id_at(self, timestamp: float) -> int:
        return await self._read(ops.id_at, timestamp)

    async def missed(
        self,
        account: str | None,
        room_keys: Sequence[str],
        since: int,
        upto: int,
        limit: int,
    ) -> list[StoredNotice]:
        return await self._read(ops.missed, account, room_keys, since, upto, limit)

    async def search(self, room_key: str, query: str, limit: int) -> list[StoredNotice]:
        return await self._read(ops.search, room_key, query, limit)

    async def private_history(
        self,
        account: str,
        other: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[StoredNotice]:
        return await self._read(ops.private_history, account, other, before, after, limit)

    # ------------------------------------------------------------------ accounts

    async def account(self, key: str) -> AccountRecord | None:
        return await self._read(ops.get_account, key)

    async def accounts(self) -> list[AccountRecord]:
        return await self._read(ops.list_accounts)

    async def create_account(self, record: AccountRecord) -> bool:
        return await self._write_now(ops.create_account, record)

    async def update_account(
        self, key: str, *, password_hash: str | None = None, role: str | None = None
    ) -> bool:
        return await self._write_now(ops.update_account, key, password_hash, role)

    async def delete_account(self, key: str) -> bool:
        return await self._write_now(ops.delete_account, key)

    async def add_token(self, token_hash: str, key: str, created: float, expires: float) -> None:
        await self._write_now(ops.add_token, token_hash, key, created, expires)

    async def token_account(self, token_hash: str, now: float) -> AccountRecord | None:
        return await self._read(ops.token_account, token_hash, now)

    async def live_tokens(self, token_hashes: Sequence[str], now: float) -> set[str]:
        return await self._read(ops.live_tokens, list(token_hashes), now)

    async def revoke_tokens(
        self, key: str, *, only: str | None = None, keep: str | None = None
    ) -> int:
        return await self._write_now(ops.revoke_tokens, key, only, keep)


async def _statements(batch: sqlite_ops.Batch) -> ops.Statements:
    """The batch as SQL, its words cut: on the loop for the usual small batch, in a thread
    for a big one (after a stall), so that the loop is never held for long (the thread
    gives the GIL back every switch interval)."""
    if len(batch.messages) + len(batch.privates) > BIG_BATCH:
        return await asyncio.to_thread(ops.statements, batch)
    return ops.statements(batch)


async def _vacuum(db: ops.Db) -> None:
    await db.execute("VACUUM messages", timeout=VACUUM_TIMEOUT)
