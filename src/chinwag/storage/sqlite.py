"""The embedded default store: one SQLite file in WAL mode.

Writes are buffered in memory and committed as one transaction per loop iteration
(group commit). With synchronous=NORMAL in WAL mode a committed transaction survives the
process being killed (SIGKILL); only an operating-system crash or power cut can lose the
last commits, and `synchronous="FULL"` closes that too, at a cost (docs/performance.md).
Reads are short indexed queries on the loop's thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chinwag.errors import StoreError
from chinwag.protocol.events import ChatMessage, PrivateMessage, StoredNotice, TopicChanged
from chinwag.storage.base import MAX_PAGE, RoomRecord, Store, StoreState
from chinwag.storage.lock import DataLock
from chinwag.storage.sqlite_schema import MIGRATIONS

_COLUMNS = "id, kind, room, username, target, body, ts"
Row = tuple[Any, ...]


# Room messages (chat, topic) and private messages are written by two statements: a room
# message has no parties, and binding two more NULLs per row made the hot path's insert
# 15 % slower.
_INSERT_ROOM = (
    "INSERT INTO messages (id, kind, room_key, room, username, user_key, body, ts)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_PRIVATE = (
    "INSERT INTO messages (id, kind, username, user_key, target, target_key, body, ts,"
    " sender_account, target_account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _room_row(n: ChatMessage | TopicChanged) -> Row:
    if isinstance(n, ChatMessage):
        return (n.id, "chat", n.room.casefold(), n.room, n.username, n.username.casefold(),
                n.message, n.timestamp)  # fmt: skip
    return (n.id, "topic", n.room.casefold(), n.room, n.username, n.username.casefold(),
            n.topic, n.timestamp)  # fmt: skip


def _private_row(n: PrivateMessage, parties: tuple[str | None, str | None]) -> Row:
    return (n.id, "private", n.username, n.username.casefold(), n.target, n.target.casefold(),
            n.message, n.timestamp, *parties)  # fmt: skip


def _from_row(row: Row) -> StoredNotice:
    id_, kind, room, username, target, body, ts = row
    if kind == "chat":
        return ChatMessage(id_, room, username, body, ts)
    if kind == "private":
        return PrivateMessage(id_, username, target, body, ts)
    return TopicChanged(id_, room, username, body, ts)


def fts_query(text: str) -> str:
    """User words -> an FTS5 query that matches all of them (no operators, no syntax errors)."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in text.split())


class SQLiteStore(Store):
    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._db: sqlite3.Connection | None = None
        self._messages: list[Row] = []  # room messages waiting for commit()
        self._privates: list[Row] = []  # private messages waiting for commit()
        self._first_id = 0  # the lowest id waiting for commit() (0: none)
        self._rooms: dict[str, RoomRecord] = {}
        self._memberships: dict[tuple[str, str], bool] = {}
        self._last_id = 0  # the last id handed out (next_id)
        self._appended_id = 0
        self._committed_id = 0
        self._lock: DataLock | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

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
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            lock.release()
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        # A refused or failed open must not keep the file (and a write lock on it) open.
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute("PRAGMA foreign_keys=ON")
            self._db = db
            self._migrate()
            state = self._load()
        except BaseException as exc:
            self._db = None
            db.close()
            lock.release()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open {self.path}: {exc}") from exc
            raise
        self._lock = lock
        self._last_id = self._appended_id = self._committed_id = state.last_id
        self._messages, self._privates, self._rooms, self._memberships = [], [], {}, {}
        self._first_id = 0
        return state

    def _load(self) -> StoreState:
        db = self.db
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
        state = StoreState(last_id=int(row[0]) if row else 0)
        state.rooms = [RoomRecord(n, t) for n, t in db.execute("SELECT name, topic FROM rooms")]
        for user, room in db.execute("SELECT user_key, room_key FROM memberships"):
            state.memberships.setdefault(user, set()).add(room)
        return state

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this chinwag knows "
                f"({len(MIGRATIONS)}); upgrade chinwag"
            )
        db = self.db
        for number in range(version + 1, len(MIGRATIONS) + 1):
            script = MIGRATIONS[number - 1]
            # executescript commits on its own; BEGIN makes the migration all-or-nothing,
            # and a failed script leaves its transaction open: roll it back here.
            try:
                db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise StoreError(f"cannot migrate {self.path} to version {number}: {exc}") from exc

    async def close(self) -> None:
        if self._db is None:
            return
        try:
            self.commit_now()
        finally:
            self._db.close()
            self._db = None
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
        if not self._first_id:
            self._first_id = notice.id
        self._appended_id = notice.id
        if isinstance(notice, PrivateMessage):
            self._privates.append(_private_row(notice, parties))
        else:
            self._messages.append(_room_row(notice))

    def save_room(self, room: RoomRecord) -> None:
        self._rooms[room.name.casefold()] = RoomRecord(room.name, room.topic)

    def save_membership(self, account: str, room_key: str, member: bool) -> None:
        self._memberships[(account, room_key)] = member

    @property
    def pending(self) -> int:
        return len(self._messages) + len(self._privates) + len(self._rooms) + len(self._memberships)

    @property
    def committed_id(self) -> int:
        return self._committed_id

    async def commit(self) -> None:
        self.commit_now()

    def commit_now(self) -> bool:
        if not self.pending:
            return True
        db = self.db
        messages, privates, rooms, members = (
            self._messages,
            self._privates,
            self._rooms,
            self._memberships,
        )
        first, top = self._first_id, self._appended_id
        self._messages, self._privates, self._rooms, self._memberships = [], [], {}, {}
        self._first_id = 0
        try:
            db.execute("BEGIN")
            if messages:
                db.executemany(_INSERT_ROOM, messages)
                db.execute(
                    "INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages"
                    " WHERE id >= ? AND kind = 'chat'",
                    (messages[0][0],),
                )
            if privates:
                db.executemany(_INSERT_PRIVATE, privates)
            if rooms:
                db.executemany(
                    "INSERT INTO rooms (key, name, topic) VALUES (?, ?, ?) ON CONFLICT (key)"
                    " DO UPDATE SET name = excluded.name, topic = excluded.topic",
                    [(key, r.name, r.topic) for key, r in rooms.items()],
                )
            joins = [pair for pair, member in members.items() if member]
            leaves = [pair for pair, member in members.items() if not member]
            if joins:
                db.executemany("INSERT OR IGNORE INTO memberships VALUES (?, ?)", joins)
            if leaves:
                db.executemany(
                    "DELETE FROM memberships WHERE user_key = ? AND room_key = ?", leaves
                )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            # Keep the writes so that the next commit retries them; nothing is echoed meanwhile.
            self._messages = messages + self._messages
            self._privates = privates + self._privates
            self._first_id = first or self._first_id
            rooms.update(self._rooms)
            members.update(self._memberships)
            self._rooms, self._memberships = rooms, members
            raise StoreError(f"commit failed: {exc}") from exc
        if first:
            self._committed_id = top
        return True

    # ------------------------------------------------------------------ reads

    def _select(self, sql: str, params: Sequence[Any]) -> list[StoredNotice]:
        return [_from_row(row) for row in self.db.execute(sql, params)]

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
        limit = max(0, min(limit, MAX_PAGE))
        upper = self._committed_id + 1 if before is None else min(before, self._committed_id + 1)
        if after is not None:
            return self._select(
                f"SELECT {_COLUMNS} FROM messages WHERE room_key = ? AND id > ? AND id < ?"
                " ORDER BY id LIMIT ?",
                (room_key, after, upper, limit),
            )
        rows = self._select(
            f"SELECT {_COLUMNS} FROM messages WHERE room_key = ? AND id < ?"
            " ORDER BY id DESC LIMIT ?",
            (room_key, upper, limit),
        )
        rows.reverse()
        return rows

    async def missed(
        self,
        account: str | None,
        room_keys: Sequence[str],
        since: int,
        upto: int,
        limit: int,
    ) -> list[StoredNotice]:
        marks = ", ".join("?" for _ in room_keys) or "NULL"
        # account NULL (a guest) matches no row: `x = NULL` is never true in SQL.
        return self._select(
            f"SELECT {_COLUMNS} FROM messages WHERE id > ? AND id <= ? AND"
            f" (room_key IN ({marks}) OR sender_account = ? OR target_account = ?)"
            " ORDER BY id LIMIT ?",
            (since, min(upto, self._committed_id), *room_keys, account, account, limit),
        )

    async def search(self, room_key: str, query: str, limit: int) -> list[StoredNotice]:
        match = fts_query(query)
        limit = max(0, min(limit, MAX_PAGE))
        if not match or not limit:
            return []
        rows = self._select(
            f"SELECT {', '.join('m.' + c for c in _COLUMNS.split(', '))} FROM messages_fts f"
            " JOIN messages m ON m.id = f.rowid"
            " WHERE messages_fts MATCH ? AND m.room_key = ? AND m.id <= ?"
            " ORDER BY m.id DESC LIMIT ?",
            (match, room_key, self._committed_id, limit),
        )
        rows.reverse()
        return rows
