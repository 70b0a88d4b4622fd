"""The SQL of the SQLite store: plain functions over one connection, run in the store's
threads (never on the event loop). sqlite.py decides which thread and when; the admin
command line (chinwag.admin) runs the account functions on a connection of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from chinwag.errors import StoreError
from chinwag.protocol.events import (
    ChatMessage,
    FileShared,
    PrivateMessage,
    StoredNotice,
    TopicChanged,
)
from chinwag.storage.base import (
    MAX_PAGE,
    AccountRecord,
    AuditRecord,
    RoomRecord,
    Sanction,
    StoreState,
)
from chinwag.storage.sqlite_schema import MIGRATIONS

COLUMNS = "id, kind, room, username, target, body, ts, deleted"
Row = tuple[Any, ...]


def _insert_rows(db: sqlite3.Connection, columns: str, rows: list[Row]) -> None:
    """Insert a batch of message rows: one statement over a JSON array (see below), or,
    for a batch whose text holds a NUL (json_extract cuts a string at one), row by row."""
    payload = orjson.dumps(rows).decode()
    if "\\u0000" in payload:
        marks = ", ".join("?" for _ in columns.split(", "))
        db.executemany(f"INSERT INTO messages ({columns}) VALUES ({marks})", rows)
    else:
        db.execute(_FROM_JSON[columns], (payload,))


def _insert_from_json(columns: str) -> str:
    """One statement inserting every row of a JSON array of arrays.

    A batch is one parameter and one sqlite3_step, run without the GIL. executemany takes
    the GIL back after every row: with the event loop busy, each row waited for the switch
    interval (5 ms), and a batch of 20,000 messages held every echo for many seconds. It is
    also a little faster when nothing competes (10 against 12.7 us a row here). The array
    goes as text (SQLite 3.45 reads a BLOB as JSONB). Timestamps are to the millisecond,
    which SQLite's JSON parser reads back exactly."""
    names = columns.split(", ")
    values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
    return f"INSERT INTO messages ({columns}) SELECT {values} FROM json_each(?)"


# Room messages (chat, topic) and private messages are written by two statements: a room
# message has no parties, and two more NULLs per row made the hot path's insert slower.
ROOM_COLUMNS = "id, kind, room_key, room, username, user_key, body, ts"
PRIVATE_COLUMNS = (
    "id, kind, username, user_key, target, target_key, body, ts, sender_account, target_account"
)
_FROM_JSON = {columns: _insert_from_json(columns) for columns in (ROOM_COLUMNS, PRIVATE_COLUMNS)}


def room_row(n: ChatMessage | TopicChanged | FileShared) -> Row:
    if isinstance(n, ChatMessage):
        return (n.id, "chat", n.room.casefold(), n.room, n.username, n.username.casefold(),
                n.message, n.timestamp)  # fmt: skip
    if isinstance(n, FileShared):
        return (n.id, "file", n.room.casefold(), n.room, n.username, n.username.casefold(),
                file_body(n), n.timestamp)  # fmt: skip
    return (n.id, "topic", n.room.casefold(), n.room, n.username, n.username.casefold(),
            n.topic, n.timestamp)  # fmt: skip


def private_row(n: PrivateMessage, parties: tuple[str | None, str | None]) -> Row:
    return (n.id, "private", n.username, n.username.casefold(), n.target, n.target.casefold(),
            n.message, n.timestamp, *parties)  # fmt: skip


def file_body(n: FileShared) -> str:
    """A file message's row body: what it says about the file, as JSON."""
    meta = {"name": n.name, "size": n.size, "media_type": n.media_type, "url": n.url,
            "sha256": n.sha256}  # fmt: skip
    return orjson.dumps(meta).decode()


def file_from(id_: int, room: str, username: str, body: str, ts: float) -> FileShared:
    meta = orjson.loads(body)
    return FileShared(id_, room, username, meta["name"], meta["size"], meta["media_type"],
                      meta["url"], ts, sha256=meta["sha256"])  # fmt: skip


def from_row(row: Row) -> StoredNotice:
    id_, kind, room, username, target, body, ts, deleted = row
    if kind == "chat":
        if deleted:
            return ChatMessage(id_, room, username, "", ts, deleted=True)
        return ChatMessage(id_, room, username, body, ts)
    if kind == "private":
        return PrivateMessage(id_, username, target, body, ts)
    if kind == "file":
        if deleted:
            return FileShared(id_, room, username, "", 0, "", "", ts, deleted=True)
        return file_from(id_, room, username, body, ts)
    return TopicChanged(id_, room, username, body, ts)


def from_buffered(row: Row) -> StoredNotice:
    """A buffered write row (room_row or private_row) back as its notice."""
    if row[1] == "private":
        id_, _, username, _, target, _, body, ts = row[:8]
        return PrivateMessage(id_, username, target, body, ts)
    id_, kind, _, room, username, _, body, ts = row
    if kind == "chat":
        return ChatMessage(id_, room, username, body, ts)
    if kind == "file":
        return file_from(id_, room, username, body, ts)
    return TopicChanged(id_, room, username, body, ts)


def fts_query(text: str) -> str:
    """User words -> an FTS5 query that matches all of them (no operators, no syntax errors).

    Control characters separate words, as blanks do (FTS5 rejects a NUL inside a quoted
    word, and the tokenizer never makes one part of a word)."""
    clean = "".join(c if c >= " " else " " for c in text)
    return " ".join('"' + word.replace('"', '""') + '"' for word in clean.split())


# --------------------------------------------------------------------------- opening


def connect(path: str, *, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA foreign_keys=ON")
        # What is deleted (a message's text, index pages) is overwritten, not left in free
        # space: a deleted message must be gone from the file.
        db.execute("PRAGMA secure_delete=ON")
        # No checkpoint inside a commit: a commit may run on the event loop, and a
        # checkpoint writes the database and syncs it. The store checkpoints in its writer
        # thread instead (checkpoint below).
        db.execute("PRAGMA wal_autocheckpoint=0")
    except BaseException:
        db.close()
        raise
    return db


def connect_reader(path: str, *, busy_timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
    db.execute("PRAGMA query_only=ON")
    return db


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, path: str) -> None:
    version = schema_version(db)
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{path} has schema version {version}, newer than this chinwag knows "
            f"({len(MIGRATIONS)}); upgrade chinwag"
        )
    for number in range(version + 1, len(MIGRATIONS) + 1):
        script = MIGRATIONS[number - 1]
        # executescript commits on its own; BEGIN makes the migration all-or-nothing,
        # and a failed script leaves its transaction open: roll it back here.
        try:
            db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(f"cannot migrate {path} to version {number}: {exc}") from exc


def set_busy_timeout(db: sqlite3.Connection, seconds: float) -> None:
    db.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")


def checkpoint(db: sqlite3.Connection) -> None:
    """Copy what the WAL holds into the database, without blocking writers or readers."""
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def probe(db: sqlite3.Connection) -> None:
    """A small real write, undone: fails as a commit would (full disk, read-only files)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("INSERT INTO probe (x) VALUES (zeroblob(4096))")
        db.execute("DELETE FROM probe")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def load(db: sqlite3.Connection) -> StoreState:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
    state = StoreState(last_id=int(row[0]) if row else 0)
    state.rooms = [
        RoomRecord(name, topic, bool(used), topic_by, topic_at)
        for name, topic, used, topic_by, topic_at in db.execute(
            "SELECT name, topic, EXISTS (SELECT 1 FROM messages m WHERE m.room_key = r.key),"
            " topic_by, topic_at FROM rooms r"
        )
    ]
    for account, room in db.execute("SELECT user_key, room_key FROM memberships"):
        state.memberships.setdefault(account, set()).add(room)
    state.accounts = {key for (key,) in db.execute("SELECT key FROM accounts")}
    for room, account, role in db.execute("SELECT room_key, account, role FROM room_roles"):
        state.room_roles.setdefault(room, {})[account] = role
    for room, modes in db.execute("SELECT room_key, modes FROM room_modes"):
        state.room_modes[room] = tuple(m for m in modes.split(",") if m)
    for room, account in db.execute("SELECT room_key, account FROM invites"):
        state.invites.setdefault(room, set()).add(account)
    state.sanctions = [
        Sanction(*row)
        for row in db.execute(
            "SELECT kind, room_key, subject, until, reason, by_name, name FROM sanctions"
        )
    ]
    return state


def last_audit_id(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0])


# --------------------------------------------------------------------------- writing


@dataclass(slots=True)
class Batch:
    """Everything buffered since the last commit, taken as one transaction."""

    messages: list[Row] = field(default_factory=list)  # room messages
    privates: list[Row] = field(default_factory=list)
    rooms: dict[str, RoomRecord] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)  # room keys
    memberships: dict[tuple[str, str], bool] = field(default_factory=dict)
    # Moderation writes, in the order they were made: (room key or "", SQL, parameters).
    # They run after the room deletions of the batch; a deletion drops the ones before it.
    moderation: list[tuple[str, str, Row]] = field(default_factory=list)
    purge: bool = False  # a message was deleted: its words leave the index (SQLiteStore)
    first: int = 0  # lowest message id in the batch (0: no message)
    top: int = 0  # highest message id in the batch

    def __len__(self) -> int:
        return (
            len(self.messages)
            + len(self.privates)
            + len(self.rooms)
            + len(self.deleted)
            + len(self.memberships)
            + len(self.moderation)
        )

    def delete_room(self, key: str) -> None:
        self.rooms.pop(key, None)
        self.deleted.add(key)
        self.moderation = [m for m in self.moderation if m[0] != key]

    def merge_newer(self, newer: Batch) -> None:
        """Put writes buffered after this batch behind it (a failed commit keeps both)."""
        self.messages += newer.messages
        self.privates += newer.privates
        for key in newer.deleted:
            self.delete_room(key)
        self.rooms.update(newer.rooms)
        self.memberships.update(newer.memberships)
        self.moderation += newer.moderation
        self.purge = self.purge or newer.purge
        self.first = self.first or newer.first
        self.top = newer.top or self.top


# What a room deletion removes (a room made again later starts with none of it).
_ROOM_TABLES = (
    "rooms WHERE key = ?",
    "memberships WHERE room_key = ?",
    "room_roles WHERE room_key = ?",
    "room_modes WHERE room_key = ?",
    "invites WHERE room_key = ?",
    "sanctions WHERE room_key = ?",
)

# Moderation writes (Batch.moderation), in SQL.
RECORD_AUDIT = (
    "INSERT INTO audit (id, ts, actor, action, target, room, room_key, reason, until)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SAVE_SANCTION = (
    "INSERT OR REPLACE INTO sanctions (kind, room_key, subject, until, reason, by_name, name)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
LIFT_SANCTION = "DELETE FROM sanctions WHERE kind = ? AND room_key = ? AND subject = ?"
SAVE_ROOM_ROLE = "INSERT OR REPLACE INTO room_roles (room_key, account, role) VALUES (?, ?, ?)"
DROP_ROOM_ROLE = "DELETE FROM room_roles WHERE room_key = ? AND account = ?"
SAVE_ROOM_MODES = "INSERT OR REPLACE INTO room_modes (room_key, modes) VALUES (?, ?)"
SAVE_INVITE = "INSERT OR IGNORE INTO invites (room_key, account) VALUES (?, ?)"
DROP_INVITE = "DELETE FROM invites WHERE room_key = ? AND account = ?"
# The words leave the full-text index (an external-content FTS5 table is told the old
# text), then the text leaves the row; the index pages that still hold the words are
# rewritten by purge() a little later.
UNINDEX_MESSAGE = (
    "INSERT INTO messages_fts (messages_fts, rowid, body) SELECT 'delete', id, body"
    " FROM messages WHERE id = ? AND kind = 'chat' AND deleted = 0"
)
BLANK_MESSAGE = (
    "UPDATE messages SET body = '', deleted = 1 WHERE id = ? AND kind IN ('chat', 'file')"
)


def purge(db: sqlite3.Connection) -> None:
    """Rewrite the full-text index without what was deleted from it (FTS5 keeps deleted
    entries in its old segments until they are merged). Costs about 0.7 s per 300,000
    indexed messages here, so the store runs it seldom (SQLiteStore.purge_delay)."""
    db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")


def write(db: sqlite3.Connection, batch: Batch) -> None:
    db.execute("BEGIN")
    try:
        if batch.messages:
            _insert_rows(db, ROOM_COLUMNS, batch.messages)
            db.execute(
                "INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages"
                " WHERE id >= ? AND kind = 'chat'",
                (batch.messages[0][0],),
            )
        if batch.privates:
            _insert_rows(db, PRIVATE_COLUMNS, batch.privates)
        if batch.deleted:  # before the upserts: a room deleted and made again is a new room
            gone = [(key,) for key in batch.deleted]
            for table in _ROOM_TABLES:
                db.executemany(f"DELETE FROM {table}", gone)
        if batch.rooms:
            db.executemany(
                "INSERT INTO rooms (key, name, topic, topic_by, topic_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET name = excluded.name, topic = excluded.topic,"
                " topic_by = excluded.topic_by, topic_at = excluded.topic_at",
                [(k, r.name, r.topic, r.topic_by, r.topic_at) for k, r in batch.rooms.items()],
            )
        for _, sql, params in batch.moderation:
            db.execute(sql, params)
        joins = [pair for pair, member in batch.memberships.items() if member]
        leaves = [pair for pair, member in batch.memberships.items() if not member]
        if joins:
            db.executemany("INSERT OR IGNORE INTO memberships VALUES (?, ?)", joins)
        if leaves:
            db.executemany("DELETE FROM memberships WHERE user_key = ? AND room_key = ?", leaves)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


# --------------------------------------------------------------------------- reading


def select(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[StoredNotice]:
    return [from_row(row) for row in db.execute(sql, params)]


def history(
    db: sqlite3.Connection,
    room_key: str,
    before: int | None,
    after: int | None,
    limit: int,
    committed: int,
) -> list[StoredNotice]:
    limit = max(0, min(limit, MAX_PAGE))
    upper = committed + 1 if before is None else min(before, committed + 1)
    if after is not None:
        return select(
            db,
            f"SELECT {COLUMNS} FROM messages WHERE room_key = ? AND id > ? AND id < ?"
            " ORDER BY id LIMIT ?",
            (room_key, after, upper, limit),
        )
    rows = select(
        db,
        f"SELECT {COLUMNS} FROM messages WHERE room_key = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (room_key, upper, limit),
    )
    rows.reverse()
    return rows


def missed(
    db: sqlite3.Connection,
    account: str | None,
    room_keys: Sequence[str],
    since: int,
    upto: int,
    limit: int,
) -> list[StoredNotice]:
    marks = ", ".join("?" for _ in room_keys) or "NULL"
    # account NULL (a guest) matches no row: `x = NULL` is never true in SQL.
    return select(
        db,
        f"SELECT {COLUMNS} FROM messages WHERE id > ? AND id <= ? AND"
        f" (room_key IN ({marks}) OR sender_account = ? OR target_account = ?)"
        " ORDER BY id LIMIT ?",
        (since, upto, *room_keys, account, account, limit),
    )


def search(
    db: sqlite3.Connection, room_key: str, query: str, limit: int, committed: int
) -> list[StoredNotice]:
    match = fts_query(query)
    limit = max(0, min(limit, MAX_PAGE))
    if not match or not limit:
        return []
    rows = select(
        db,
        f"SELECT {', '.join('m.' + c for c in COLUMNS.split(', '))} FROM messages_fts f"
        " JOIN messages m ON m.id = f.rowid"
        " WHERE messages_fts MATCH ? AND m.room_key = ? AND m.id <= ?"
        " ORDER BY m.id DESC LIMIT ?",
        (match, room_key, committed, limit),
    )
    rows.reverse()
    return rows


ID_AT_STEP = "SELECT id, ts FROM messages WHERE id >= ? AND id <= ? ORDER BY id LIMIT 1"


def id_at(db: sqlite3.Connection, timestamp: float, committed: int) -> int:
    """A binary search over ids (which follow time) with one primary-key seek a step:
    about log2(ids) seeks whatever the time, where a scan for an old time would read
    the whole table. No index on the time: it would cost every message written."""
    low, high = 0, committed  # the answer is in [low, high]; low: the best found so far
    while low < high:
        middle = (low + high + 1) // 2
        row = db.execute(ID_AT_STEP, (middle, high)).fetchone()
        if row is not None and row[1] < timestamp:
            low = int(row[0])
        else:
            high = middle - 1
    return low


def message(db: sqlite3.Connection, message_id: int, committed: int) -> StoredNotice | None:
    if message_id > committed:
        return None
    row = db.execute(f"SELECT {COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else from_row(row)


def audit(
    db: sqlite3.Connection, room_key: str | None, since: float | None, limit: int
) -> list[AuditRecord]:
    limit = max(0, min(limit, MAX_PAGE))
    rows = db.execute(
        "SELECT id, ts, actor, action, target, room, reason, until FROM audit"
        " WHERE (? IS NULL OR room_key = ?) AND ts >= ? ORDER BY id DESC LIMIT ?",
        (room_key, room_key, since or 0.0, limit),
    ).fetchall()
    return [AuditRecord(*row) for row in reversed(rows)]


# --------------------------------------------------------------------------- accounts

_ACCOUNT = "key, name, password_hash, role, created"


def _account(row: Row | None) -> AccountRecord | None:
    return None if row is None else AccountRecord(*row)


def get_account(db: sqlite3.Connection, key: str) -> AccountRecord | None:
    return _account(db.execute(f"SELECT {_ACCOUNT} FROM accounts WHERE key = ?", (key,)).fetchone())


def list_accounts(db: sqlite3.Connection) -> list[AccountRecord]:
    rows = db.execute(f"SELECT {_ACCOUNT} FROM accounts ORDER BY name COLLATE NOCASE").fetchall()
    return [AccountRecord(*row) for row in rows]


def _transaction(db: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
    """Run statements as one transaction; the rows the first one changed."""
    return _changes(db, statements)[0]


def _changes(db: sqlite3.Connection, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
    """Run statements as one transaction; the rows each one changed."""
    db.execute("BEGIN IMMEDIATE")
    try:
        changed = [max(db.execute(sql, params).rowcount, 0) for sql, params in statements]
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return changed


def create_account(db: sqlite3.Connection, record: AccountRecord) -> bool:
    sql = f"INSERT OR IGNORE INTO accounts ({_ACCOUNT}) VALUES (?, ?, ?, ?, ?)"
    values = (record.key, record.name, record.password_hash, record.role, record.created)
    return _transaction(db, [(sql, values)]) == 1


def update_account(
    db: sqlite3.Connection, key: str, password_hash: str | None, role: str | None
) -> bool:
    sql = (
        "UPDATE accounts SET password_hash = coalesce(?, password_hash),"
        " role = coalesce(?, role) WHERE key = ?"
    )
    return _transaction(db, [(sql, (password_hash, role, key))]) == 1


def delete_account(db: sqlite3.Connection, key: str) -> bool:
    return (
        _transaction(
            db,
            [
                ("DELETE FROM accounts WHERE key = ?", (key,)),  # its tokens go with it
                ("DELETE FROM memberships WHERE user_key = ?", (key,)),
            ],
        )
        == 1
    )


def add_token(
    db: sqlite3.Connection, token_hash: str, key: str, created: float, expires: float
) -> None:
    sql = "INSERT INTO tokens (hash, account, created, expires) VALUES (?, ?, ?, ?)"
    _transaction(db, [(sql, (token_hash, key, created, expires))])


def token_account(db: sqlite3.Connection, token_hash: str, now: float) -> AccountRecord | None:
    row = db.execute(
        f"SELECT {', '.join('a.' + c for c in _ACCOUNT.split(', '))} FROM tokens t"
        " JOIN accounts a ON a.key = t.account WHERE t.hash = ? AND t.expires > ?",
        (token_hash, now),
    ).fetchone()
    return _account(row)


def live_tokens(db: sqlite3.Connection, token_hashes: list[str], now: float) -> set[str]:
    live: set[str] = set()
    for start in range(0, len(token_hashes), 500):  # SQLite's bound-parameter limit
        chunk = token_hashes[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = db.execute(
            "SELECT t.hash FROM tokens t JOIN accounts a ON a.key = t.account"
            f" WHERE t.expires > ? AND t.hash IN ({marks})",
            (now, *chunk),
        )
        live.update(row[0] for row in rows)
    return live


def revoke_tokens(db: sqlite3.Connection, key: str, only: str | None, keep: str | None) -> int:
    if only is not None:
        return _transaction(
            db, [("DELETE FROM tokens WHERE account = ? AND hash = ?", (key, only))]
        )
    return _transaction(
        db, [("DELETE FROM tokens WHERE account = ? AND hash IS NOT ?", (key, keep))]
    )


def set_password(db: sqlite3.Connection, key: str, password_hash: str) -> int | None:
    """A new password for an account and none of its login tokens, in one transaction (the
    admin command line): how many tokens were revoked; None if there is no such account."""
    changed, revoked = _changes(
        db,
        [
            ("UPDATE accounts SET password_hash = ? WHERE key = ?", (password_hash, key)),
            ("DELETE FROM tokens WHERE account = ?", (key,)),
        ],
    )
    return revoked if changed == 1 else None


def account_tokens(db: sqlite3.Connection, key: str, now: float) -> list[tuple[float, float]]:
    """(created, expires) of an account's tokens that still log in, oldest first."""
    rows = db.execute(
        "SELECT created, expires FROM tokens WHERE account = ? AND expires > ? ORDER BY created",
        (key, now),
    )
    return [(float(created), float(expires)) for created, expires in rows]


def token_counts(db: sqlite3.Connection, now: float) -> dict[str, int]:
    """Account key -> how many of its tokens still log in (accounts without any: absent)."""
    rows = db.execute(
        "SELECT account, count(*) FROM tokens WHERE expires > ? GROUP BY account", (now,)
    )
    return {str(account): int(count) for account, count in rows}


def private_history(
    db: sqlite3.Connection,
    account: str,
    other: str,
    before: int | None,
    after: int | None,
    limit: int,
    committed: int,
) -> list[StoredNotice]:
    limit = max(0, min(limit, MAX_PAGE))
    upper = committed + 1 if before is None else min(before, committed + 1)
    between = (
        "kind = 'private' AND ((sender_account = ? AND target_account = ?)"
        " OR (sender_account = ? AND target_account = ?))"
    )
    pair = (account, other, other, account)
    if after is not None:
        return select(
            db,
            f"SELECT {COLUMNS} FROM messages WHERE {between} AND id > ? AND id < ?"
            " ORDER BY id LIMIT ?",
            (*pair, after, upper, limit),
        )
    rows = select(
        db,
        f"SELECT {COLUMNS} FROM messages WHERE {between} AND id < ? ORDER BY id DESC LIMIT ?",
        (*pair, upper, limit),
    )
    rows.reverse()
    return rows
