"""`chinwag migrate`: copy a data folder's SQLite store into an empty PostgreSQL store.

Everything moves: messages (with their ids, deleted ones as tombstones, private messages
with their accounts), rooms and the rooms accounts keep, accounts and login tokens, room
roles, modes, invitations, bans and mutes, the audit log; the id counters start above the
highest id copied, so no id is handed out twice. The copy is one transaction: an error
leaves the PostgreSQL database as it was. The data folder is only read, under its lock (no
server may run on it meanwhile), and must be at the schema version of this chinwag (start
the server on it once to upgrade an older one).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from chinwag.errors import StoreError
from chinwag.storage import postgres_ops as pg
from chinwag.storage import sqlite_ops
from chinwag.storage.address import shown
from chinwag.storage.lock import DataLock
from chinwag.storage.postgres import CONNECT_TIMEOUT, FAILURES
from chinwag.storage.sqlite_schema import MIGRATIONS as SQLITE_MIGRATIONS

CHUNK = 10_000  # messages per INSERT

# SQLite table -> its columns, copied as they are (same names and meaning in both schemas).
PLAIN_TABLES: dict[str, str] = {
    "rooms": "key, name, topic, topic_by, topic_at",
    "memberships": "user_key, room_key",
    "accounts": "key, name, password_hash, role, created",
    "tokens": "hash, account, created, expires",
    "room_roles": "room_key, account, role",
    "room_modes": "room_key, modes",
    "invites": "room_key, account",
    "sanctions": "kind, room_key, subject, until, reason, by_name, name",
    "audit": "id, ts, actor, action, target, room, room_key, reason, until",
}
_MESSAGES = (
    "SELECT id, kind, room_key, room, username, user_key, target, target_key, body, ts,"
    " sender_account, target_account, deleted FROM messages WHERE id > ? ORDER BY id LIMIT ?"
)


@dataclass
class Copied:
    """What was copied: rows per table, and the counters' new values."""

    rows: dict[str, int]
    last_id: int
    last_audit: int


def _sqlite_rows(db: sqlite3.Connection) -> Iterator[list[tuple[Any, ...]]]:
    after = 0
    while True:
        rows = db.execute(_MESSAGES, (after, CHUNK)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _message_columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """SQLite rows as INSERT_MESSAGES' 14 arrays (a deleted message: no text, no words)."""
    cols: list[list[Any]] = [[] for _ in range(14)]
    for row in rows:
        id_, kind, room_key, room, username, user_key, target, target_key, body = row[:9]
        ts, sender, receiver, deleted = row[9:]
        text, quoted = pg.stored_body(body)
        indexed = pg.words(body) if kind == "chat" and not deleted else None
        values = (id_, kind, room_key, room, username, user_key, target, target_key, text,
                  quoted, ts, sender, receiver, indexed)  # fmt: skip
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    return cols


async def copy(data: Path, dsn: str, *, progress: Callable[[str], None] = lambda _: None) -> Copied:
    path = data / "chinwag.sqlite3"
    if not path.exists():
        raise StoreError(f"no chinwag data in {data} (no {path.name})")
    lock = DataLock(path.with_name(path.name + ".lock"))
    lock.acquire()  # no server writes it while we read
    try:
        source = sqlite_ops.connect_reader(str(path), busy_timeout=5.0)
        try:
            version = sqlite_ops.schema_version(source)
            if version != len(SQLITE_MIGRATIONS):
                raise StoreError(
                    f"{path} has schema version {version}, this chinwag copies version"
                    f" {len(SQLITE_MIGRATIONS)}: start this chinwag's server on it once first"
                )
            source.execute("BEGIN")  # one snapshot of the whole file
            return await _copy(source, dsn, progress)
        finally:
            source.close()
    finally:
        lock.release()


async def _copy(source: sqlite3.Connection, dsn: str, progress: Callable[[str], None]) -> Copied:
    where = shown(dsn)
    try:
        target = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    except FAILURES as exc:
        raise StoreError(f"cannot open {where}: {exc}") from exc
    try:
        await pg.migrate(target, where)
        async with target.transaction():
            return await _fill(source, target, where, progress)
    except asyncpg.PostgresError as exc:
        raise StoreError(f"copying into {where} failed: {exc}") from exc
    finally:
        await target.close()


async def _fill(
    source: sqlite3.Connection,
    target: asyncpg.Connection[Any],
    where: str,
    progress: Callable[[str], None],
) -> Copied:
    used = await target.fetchval(
        "SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM accounts)"
        " + (SELECT count(*) FROM rooms)"
    )
    if used:
        raise StoreError(f"{where} already holds chinwag data: migrate into an empty database")
    rows: dict[str, int] = {"messages": 0}
    for chunk in _sqlite_rows(source):
        await target.execute(pg.INSERT_MESSAGES, *_message_columns(chunk))
        deleted = [row[0] for row in chunk if row[-1]]
        if deleted:
            await target.execute(
                "UPDATE messages SET deleted = true WHERE id = ANY($1::bigint[])", deleted
            )
        rows["messages"] += len(chunk)
        progress(f"messages: {rows['messages']}")
    for table, columns in PLAIN_TABLES.items():
        found = source.execute(f"SELECT {columns} FROM {table}").fetchall()
        if found:
            width = len(columns.split(", "))
            marks = ", ".join(f"${i}" for i in range(1, width + 1))
            await target.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                [tuple(_plain(v) for v in row) for row in found],
            )
        rows[table] = len(found)
        progress(f"{table}: {len(found)}")
    seq = source.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
    last_id = max(int(seq[0]) if seq else 0, _top(source, "messages"))
    last_audit = _top(source, "audit")
    for name, last in (("messages", last_id), ("audit", last_audit)):
        await target.execute("UPDATE id_counters SET last = $2 WHERE name = $1", name, last)
    return Copied(rows, last_id, last_audit)


def _top(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])


def _plain(value: Any) -> Any:
    return pg.plain(value) if isinstance(value, str) else value
