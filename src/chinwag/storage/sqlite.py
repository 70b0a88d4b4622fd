"""The embedded default store: one SQLite file in WAL mode, never touched on the event loop.

- Writes are buffered in memory (on the loop, synchronously) and committed as one
  transaction for everything since the last commit (group commit). A commit never waits on
  the event loop: it runs there only when it cannot wait (SQLite's lock is tried, not
  waited for; no checkpoint runs inside a commit), which costs tens of microseconds,
  less than handing it to a thread (bench B: 10 % of the server's CPU). As soon as the store
  shows trouble (the lock is held by another process, a commit was slow), commits go to the
  writer thread for a while, where waiting is harmless. Checkpoints (which write the
  database and sync it) always run in the writer thread, on a connection of their own.
- Reads run in reader threads, each with its own read-only connection (WAL: readers never
  block the writer), under a time budget: a query still running after `query_budget`
  seconds is interrupted (SQLite's progress handler) and raises QueryTooExpensive.
- With synchronous=NORMAL in WAL mode a committed transaction survives the process being
  killed (SIGKILL); only an operating-system crash or power cut can lose the last commits,
  and `synchronous="FULL"` closes that too, at a cost (docs/performance.md).

The SQL itself is in sqlite_ops.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from chinwag.errors import QueryTooExpensive, StoreError
from chinwag.protocol.events import PrivateMessage, StoredNotice
from chinwag.storage import sqlite_ops as ops
from chinwag.storage.base import (
    AccountRecord,
    AuditRecord,
    RoomRecord,
    Sanction,
    Store,
    StoreState,
)
from chinwag.storage.lock import DataLock

T = TypeVar("T")

PROGRESS_STEPS = 1000  # SQLite VM steps between two looks at a read's deadline
SLOW_COMMIT = 0.005  # a commit on the loop slower than this sends commits to the thread
DEGRADED_FOR = 10.0  # seconds commits stay in the writer thread after trouble
CHECKPOINT_ROWS = 2000  # rows written between two checkpoints (in the writer thread)
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SQLiteStore(Store):
    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "NORMAL",
        busy_timeout: float = 1.0,
        query_budget: float = 1.0,
        readers: int = 2,
        purge_delay: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout  # waited for in a thread, never on the loop
        self.query_budget = query_budget
        self.readers = readers
        # Seconds between a message's deletion and the rewrite of the search index that
        # takes its words out of the file (ops.purge: seconds on a big index, during which
        # commits wait, so deletions in a row share one).
        self.purge_delay = purge_delay
        self._purge_due: asyncio.TimerHandle | None = None
        self._purge_task: asyncio.Task[None] | None = None
        self._audit_id = 0
        self._db: sqlite3.Connection | None = None  # the writer's, used in the writer thread
        self._writer: ThreadPoolExecutor | None = None
        self._reading: ThreadPoolExecutor | None = None
        self._local = threading.local()  # each reader thread's connection
        self._reader_dbs: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._commit_lock = asyncio.Lock()
        self._batch = ops.Batch()
        self._degraded_until = 0.0  # commits go to the writer thread until then (monotonic)
        self._since_checkpoint = 0  # rows written since the last checkpoint began
        self._checkpointing = False
        self._checkpoint_db: sqlite3.Connection | None = None  # used in the writer thread
        self._last_id = 0  # the last id handed out (next_id)
        self._appended_id = 0
        self._committed_id = 0
        self._lock: DataLock | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """The writer's connection (tests use it to inject failures)."""
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def _in_writer(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._writer is not None
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> StoreState:
        if self._db is not None:
            raise StoreError(f"{self.path} is already open")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        lock = DataLock(self.path.with_name(self.path.name + ".lock"))
        lock.acquire()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="chinwag-sqlite-writer")
        try:
            state = await self._in_writer(self._open)
        except BaseException:
            lock.release()
            self._writer.shutdown(wait=False)
            self._writer = None
            raise
        self._lock = lock
        self._reading = ThreadPoolExecutor(self.readers, thread_name_prefix="chinwag-sqlite-read")
        self._last_id = self._appended_id = self._committed_id = state.last_id
        self._batch = ops.Batch()
        return state

    def _open(self) -> StoreState:
        """In the writer thread. A refused or failed open keeps nothing open."""
        path = str(self.path)
        try:
            db = ops.connect(path, synchronous=self.synchronous, busy_timeout=0.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open {path}: {exc}") from exc
        try:
            ops.migrate(db, path)
            state = ops.load(db)
            self._audit_id = ops.last_audit_id(db)
            ops.probe(db)  # a data folder that cannot be written is refused now, not later
        except BaseException as exc:
            db.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot write to {path}: {exc}") from exc
            raise
        self._db = db
        return state

    def schema_version(self) -> int:
        return ops.schema_version(self.db)

    async def close(self) -> None:
        if self._db is None:
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
            db, self._db = self._db, None
            await self._in_writer(db.close)
            if self._checkpoint_db is not None:
                await self._in_writer(self._checkpoint_db.close)
                self._checkpoint_db = None
            with self._reader_lock:
                readers, self._reader_dbs = self._reader_dbs, []
            for reader in readers:
                reader.close()
            for pool in (self._writer, self._reading):
                if pool is not None:
                    pool.shutdown(wait=True)
            self._writer = self._reading = None
            self._local = threading.local()
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    # ------------------------------------------------------------------ writes

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    @property
    def last_id(self) -> int:
        return self._last_id

    def append(
        self, notice: StoredNotice, *, parties: tuple[str | None, str | None] = (None, None)
    ) -> None:
        if not self._appended_id < notice.id <= self._last_id:
            raise StoreError(f"message id {notice.id} was not handed out next by this store")
        batch = self._batch
        if not batch.first:
            batch.first = notice.id
        batch.top = self._appended_id = notice.id
        if isinstance(notice, PrivateMessage):
            batch.privates.append(ops.private_row(notice, parties))
        else:
            batch.messages.append(ops.room_row(notice))

    def save_room(self, room: RoomRecord) -> None:
        self._batch.rooms[room.name.casefold()] = RoomRecord(
            room.name, room.topic, topic_by=room.topic_by, topic_at=room.topic_at
        )

    def delete_room(self, room_key: str) -> None:
        self._batch.delete_room(room_key)

    def save_membership(self, account: str, room_key: str, member: bool) -> None:
        self._batch.memberships[(account, room_key)] = member

    # ------------------------------------------------------------------ moderation

    def _moderate(self, room_key: str, sql: str, params: ops.Row) -> None:
        self._batch.moderation.append((room_key, sql, params))

    def record(self, entry: AuditRecord) -> int:
        self._audit_id += 1
        e = entry
        self._moderate(
            "",
            ops.RECORD_AUDIT,
            (self._audit_id, e.timestamp, e.actor, e.action, e.target, e.room,
             e.room.casefold(), e.reason, e.until),
        )  # fmt: skip
        return self._audit_id

    def save_sanction(self, sanction: Sanction) -> None:
        s = sanction
        self._moderate(
            s.room_key,
            ops.SAVE_SANCTION,
            (s.kind, s.room_key, s.subject, s.until, s.reason, s.by, s.name),
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
        self._moderate("", ops.UNINDEX_MESSAGE, (message_id,))
        self._moderate("", ops.BLANK_MESSAGE, (message_id,))
        self._batch.purge = True

    async def purge(self) -> None:
        """Take deleted words out of the search index's pages now (in the writer thread,
        between commits), then checkpoint so the database file no longer holds them."""
        if self._db is None:
            return
        async with self._commit_lock:
            await self._in_writer(self._waiting, ops.purge, ())
        await self._in_writer(self._checkpoint)

    def _purge_soon(self) -> None:
        if self._purge_due is not None or self._db is None:
            return
        loop = asyncio.get_running_loop()

        def start() -> None:
            self._purge_due = None
            self._purge_task = loop.create_task(self._purge_quietly())

        self._purge_due = loop.call_later(self.purge_delay, start)

    async def _purge_quietly(self) -> None:
        try:
            await self.purge()
        except (sqlite3.Error, StoreError):
            self._purge_task = None
            self._purge_soon()  # tried again after another delay
        finally:
            self._purge_task = None

    async def message(self, message_id: int) -> StoredNotice | None:
        return await self._read(ops.message, message_id, self._committed_id)

    async def audit(
        self, room_key: str | None, since: float | None, limit: int
    ) -> list[AuditRecord]:
        return await self._read(ops.audit, room_key, since, limit)

    def discard(self) -> list[StoredNotice]:
        batch = self._batch
        dropped = [ops.from_buffered(row) for row in (*batch.messages, *batch.privates)]
        dropped.sort(key=lambda n: n.id)
        batch.messages, batch.privates = [], []
        batch.first = batch.top = 0
        self._appended_id = self._last_id  # what was dropped is never handed out again
        return dropped

    @property
    def pending(self) -> int:
        return len(self._batch)

    @property
    def committed_id(self) -> int:
        return self._committed_id

    def commit_now(self) -> bool:
        """Commit on the loop when that cannot wait; False: `await commit()` instead."""
        batch = self._batch
        if not batch:
            return True
        if self._commit_lock.locked() or time.monotonic() < self._degraded_until:
            return False
        self._batch = ops.Batch()
        began = time.perf_counter()
        try:
            ops.write(self.db, batch)  # busy timeout 0: a held lock fails at once
        except sqlite3.Error as exc:
            batch.merge_newer(self._batch)  # kept for the next commit
            self._batch = batch
            if getattr(exc, "sqlite_errorcode", None) in _BUSY:
                self._degrade()  # someone holds the lock: wait for it in the thread
                return False
            raise StoreError(f"commit failed: {exc}") from exc
        if time.perf_counter() - began > SLOW_COMMIT:
            self._degrade()
        self._written(batch)
        return True

    async def commit(self) -> None:
        async with self._commit_lock:  # one at a time, in order: no later batch overtakes
            batch = self._batch
            if not batch:
                return
            self._batch = ops.Batch()
            try:
                await self._in_writer(self._waiting, ops.write, (batch,))
            except sqlite3.Error as exc:
                # Keep the writes for the next commit; nothing that depends on them left.
                batch.merge_newer(self._batch)
                self._batch = batch
                raise StoreError(f"commit failed: {exc}") from exc
            self._written(batch)

    def _degrade(self) -> None:
        self._degraded_until = time.monotonic() + DEGRADED_FOR

    def _written(self, batch: ops.Batch) -> None:
        if batch.first:
            self._committed_id = batch.top
        if batch.purge:
            self._purge_soon()
        self._since_checkpoint += len(batch)
        if self._since_checkpoint >= CHECKPOINT_ROWS and not self._checkpointing:
            self._since_checkpoint = 0
            self._checkpointing = True
            assert self._writer is not None
            self._writer.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        """In the writer thread, on a connection of its own: never inside a commit."""
        try:
            if self._checkpoint_db is None:
                self._checkpoint_db = ops.connect(
                    str(self.path), synchronous=self.synchronous, busy_timeout=self.busy_timeout
                )
            ops.checkpoint(self._checkpoint_db)
        except sqlite3.Error:
            pass  # the next one tries again; the WAL keeps everything meanwhile
        finally:
            self._checkpointing = False

    async def probe(self) -> None:
        try:
            await self._write_now(ops.probe)
        except sqlite3.Error as exc:
            raise StoreError(f"the store cannot write: {exc}") from exc

    async def _write_now(self, fn: Callable[..., T], *args: Any) -> T:
        """A write of its own (an account, a token, the probe), durable when it returns: in
        the writer thread, never at the same time as a commit on the same connection."""
        async with self._commit_lock:
            return await self._in_writer(self._waiting, fn, args)

    def _waiting(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        db = self.db
        ops.set_busy_timeout(db, self.busy_timeout)
        try:
            return fn(db, *args)
        finally:
            ops.set_busy_timeout(db, 0.0)

    async def _account_write(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self._write_now(fn, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"account write failed: {exc}") from exc

    # ------------------------------------------------------------------ accounts

    async def account(self, key: str) -> AccountRecord | None:
        return await self._read(ops.get_account, key)

    async def accounts(self) -> list[AccountRecord]:
        return await self._read(ops.list_accounts)

    async def create_account(self, record: AccountRecord) -> bool:
        return await self._account_write(ops.create_account, record)

    async def update_account(
        self, key: str, *, password_hash: str | None = None, role: str | None = None
    ) -> bool:
        return await self._account_write(ops.update_account, key, password_hash, role)

    async def delete_account(self, key: str) -> bool:
        return await self._account_write(ops.delete_account, key)

    async def add_token(self, token_hash: str, key: str, created: float, expires: float) -> None:
        await self._account_write(ops.add_token, token_hash, key, created, expires)

    async def token_account(self, token_hash: str, now: float) -> AccountRecord | None:
        return await self._read(ops.token_account, token_hash, now)

    async def live_tokens(self, token_hashes: Sequence[str], now: float) -> set[str]:
        return await self._read(ops.live_tokens, list(token_hashes), now)

    async def revoke_tokens(
        self, key: str, *, only: str | None = None, keep: str | None = None
    ) -> int:
        return await self._account_write(ops.revoke_tokens, key, only, keep)

    async def private_history(
        self,
        account: str,
        other: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[StoredNotice]:
        return await self._read(
            ops.private_history, account, other, before, after, limit, self._committed_id
        )

    # ------------------------------------------------------------------ reads

    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = ops.connect_reader(str(self.path), busy_timeout=self.busy_timeout)
            self._local.db = db
            with self._reader_lock:
                self._reader_dbs.append(db)
        return db

    def _timed(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """In a reader thread: run a query under the time budget."""
        db = self._reader()
        deadline = time.monotonic() + self.query_budget
        db.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
        try:
            return fn(db, *args)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTooExpensive(
                    f"the query ran over its {self.query_budget:g} s budget"
                ) from None
            raise StoreError(f"read failed: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc
        finally:
            db.set_progress_handler(None, 0)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._reading is None:
            raise StoreError("the store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reading, self._timed, fn, args)

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
        return await self._read(ops.history, room_key, before, after, limit, self._committed_id)

    async def id_at(self, timestamp: float) -> int:
        return await self._read(ops.id_at, timestamp, self._committed_id)

    async def missed(
        self,
        account: str | None,
        room_keys: Sequence[str],
        since: int,
        upto: int,
        limit: int,
    ) -> list[StoredNotice]:
        upto = min(upto, self._committed_id)
        return await self._read(ops.missed, account, list(room_keys), since, upto, limit)

    async def search(self, room_key: str, query: str, limit: int) -> list[StoredNotice]:
        return await self._read(ops.search, room_key, query, limit, self._committed_id)
