"""The SQL of the PostgreSQL store: coroutines over one asyncpg connection (postgres.py picks
the pool and the moment), and the conversions between notices and rows.

Search uses PostgreSQL's tsvector and a GIN index, fed with the words of the memory store's
tokenizer (`memory.tokens`: letters and digits, lower-cased, without diacritics) rather than
a text-search configuration: PostgreSQL's parsers see e-mail addresses, URLs, hyphenated
words and file paths as words of their own, and the 'simple' configuration keeps accents,
so every backend finds the same messages only if they cut words the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

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
from chinwag.storage.memory import tokens
from chinwag.storage.postgres_schema import MIGRATION_LOCK, MIGRATIONS
from chinwag.storage.sqlite_ops import Batch, file_from

Db: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

COLUMNS = "id, kind, room, username, target, body, quoted, ts, deleted"
MAX_LEXEME = 2046  # bytes: PostgreSQL refuses longer words in a tsvector
MAX_POSITION = 16383  # tsvector positions stop there (later words still count as present)


# --------------------------------------------------------------------------- conversions


def stored_body(text: str) -> tuple[str, bool]:
    """A text PostgreSQL can hold, and whether it was quoted (it had a NUL)."""
    if "\x00" in text:
        return orjson.dumps(text).decode(), True
    return text, False


def plain(text: str) -> str:
    """A short text (a topic, a reason) where NUL is replaced rather than quoted."""
    return text.replace("\x00", "\ufffd")


def words(text: str) -> str:
    """A tsvector literal of the text's words with their positions (phrases match in order).
    Words are letters and digits only: no quote or backslash needs escaping."""
    found = tokens(text)
    if len(found) > MAX_POSITION or max(map(len, found), default=0) > MAX_LEXEME // 4:
        return _rare_words(found)
    return " ".join([f"'{word}':{position}" for position, word in enumerate(found, 1)])


def _rare_words(found: list[str]) -> str:
    """Very long words (left out) or texts (positions stop at MAX_POSITION)."""
    out = []
    for position, word in enumerate(found, 1):
        if len(word.encode()) <= MAX_LEXEME:
            out.append(f"'{word}':{min(position, MAX_POSITION)}")
    return " ".join(out)


def word_query(query: str) -> str | None:
    """A tsquery literal matching every word of the query (a word with punctuation, like
    "don't", as the phrase of its parts: don <-> t), as `memory.matches` does; None when the
    query has no word, or one too long to be in any index."""
    phrases = [p for p in (tokens(word) for word in query.split()) if p]
    if not phrases or any(len(w.encode()) > MAX_LEXEME for p in phrases for w in p):
        return None
    return " & ".join("(" + " <-> ".join(f"'{w}'" for w in p) + ")" for p in phrases)


def from_record(row: asyncpg.Record) -> StoredNotice:
    id_, kind, room, username, target, body, quoted, ts, deleted = row
    if quoted:
        body = orjson.loads(body)
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


# --------------------------------------------------------------------------- opening


async def migrate(db: Db, where: str) -> None:
    async with db.transaction():  # servers starting together: one makes it, under the lock
        await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    for number in range(1, len(MIGRATIONS) + 1):
        async with db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            version = await db.fetchval("SELECT max(version) FROM schema_version") or 0
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"{where} has schema version {version}, newer than this chinwag knows "
                    f"({len(MIGRATIONS)}); upgrade chinwag"
                )
            if version >= number:
                continue
            try:
                await db.execute(MIGRATIONS[number - 1])
            except asyncpg.PostgresError as exc:
                raise StoreError(f"cannot migrate {where} to version {number}: {exc}") from exc
            await db.execute("DELETE FROM schema_version")
            await db.execute("INSERT INTO schema_version VALUES ($1)", number)


async def schema_version(db: Db) -> int:
    return int(await db.fetchval("SELECT max(version) FROM schema_version") or 0)


async def reserve(db: Db, name: str, count: int) -> int:
    """Reserve `count` ids of a counter; the last of them (its own durable transaction)."""
    last = await db.fetchval(
        "UPDATE id_counters SET last = last + $2 WHERE name = $1 RETURNING last", name, count
    )
    return int(last)


async def give_back(db: Db, name: str, last: int, top: int) -> bool:
    """Set a counter back from `top` to `last` if nobody reserved after `top`."""
    status = await db.execute(
        "UPDATE id_counters SET last = $2 WHERE name = $1 AND last = $3", name, last, top
    )
    return bool(status == "UPDATE 1")


async def counter(db: Db, name: str) -> int:
    return int(await db.fetchval("SELECT last FROM id_counters WHERE name = $1", name))


async def probe(db: Db) -> None:
    """A small real write, committed: fails as a commit would."""
    async with db.transaction():
        await db.execute("INSERT INTO probe VALUES ('probe')")
        await db.execute("DELETE FROM probe")


async def load(db: Db) -> StoreState:
    state = StoreState(last_id=await counter(db, "messages"))
    state.rooms = [
        RoomRecord(name, topic, bool(used), topic_by, topic_at)
        for name, topic, used, topic_by, topic_at in await db.fetch(
            "SELECT name, topic, EXISTS (SELECT 1 FROM messages m WHERE m.room_key = r.key),"
            " topic_by, topic_at FROM rooms r"
        )
    ]
    for account, room in await db.fetch("SELECT user_key, room_key FROM memberships"):
        state.memberships.setdefault(account, set()).add(room)
    state.accounts = {key for (key,) in await db.fetch("SELECT key FROM accounts")}
    for room, account, role in await db.fetch("SELECT room_key, account, role FROM room_roles"):
        state.room_roles.setdefault(room, {})[account] = role
    for room, modes in await db.fetch("SELECT room_key, modes FROM room_modes"):
        state.room_modes[room] = tuple(m for m in modes.split(",") if m)
    for room, account in await db.fetch("SELECT room_key, account FROM invites"):
        state.invites.setdefault(room, set()).add(account)
    state.sanctions = [
        Sanction(*row)
        for row in await db.fetch(
            "SELECT kind, room_key, subject, until, reason, by_name, name FROM sanctions"
        )
    ]
    return state


# --------------------------------------------------------------------------- writing

_MESSAGE_COLUMNS = (
    "id, kind, room_key, room, username, user_key, target, target_key, body, quoted, ts,"
    " sender_account, target_account, words"
)
# One statement per batch: every column an array, unnest makes the rows.
INSERT_MESSAGES = (
    f"INSERT INTO messages ({_MESSAGE_COLUMNS})"
    " SELECT id, kind, room_key, room, username, user_key, target, target_key, body, quoted,"
    " ts, sender_account, target_account, words::tsvector"
    " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
    " $7::text[], $8::text[], $9::text[], $10::bool[], $11::float8[], $12::text[],"
    " $13::text[], $14::text[])"
    " AS t(id, kind, room_key, room, username, user_key, target, target_key, body, quoted, ts,"
    " sender_account, target_account, words)"
    " ON CONFLICT (id) DO NOTHING"  # a retried commit whose first try went through
)


def message_columns(batch: Batch) -> list[list[Any]]:
    """The batch's messages as the 14 arrays of INSERT_MESSAGES. The rows are the SQLite
    store's (sqlite_ops.room_row, private_row): one buffer format for both backends."""
    cols: list[list[Any]] = [[] for _ in range(14)]
    for id_, kind, room_key, room, username, user_key, body, ts in batch.messages:
        text, quoted = stored_body(body)
        values = (id_, kind, room_key, room, username, user_key, None, None, text, quoted,
                  ts, None, None, words(body) if kind == "chat" else None)  # fmt: skip
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    for row in batch.privates:
        id_, kind, username, user_key, target, target_key, body, ts, sender, receiver = row
        text, quoted = stored_body(body)
        values = (id_, kind, None, None, username, user_key, target, target_key, text, quoted,
                  ts, sender, receiver, None)  # fmt: skip
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    return cols


# What a room deletion removes (a room made again later starts with none of it).
_ROOM_TABLES = (
    "rooms WHERE key",
    "memberships WHERE room_key",
    "room_roles WHERE room_key",
    "room_modes WHERE room_key",
    "invites WHERE room_key",
    "sanctions WHERE room_key",
)

# Moderation writes (Batch.moderation), in SQL.
RECORD_AUDIT = (
    "INSERT INTO audit (id, ts, actor, action, target, room, room_key, reason, until)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING"
)
SAVE_SANCTION = (
    "INSERT INTO sanctions (kind, room_key, subject, until, reason, by_name, name)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, room_key, subject) DO UPDATE SET"
    " until = excluded.until, reason = excluded.reason, by_name = excluded.by_name,"
    " name = excluded.name"
)
LIFT_SANCTION = "DELETE FROM sanctions WHERE kind = $1 AND room_key = $2 AND subject = $3"
SAVE_ROOM_ROLE = (
    "INSERT INTO room_roles (room_key, account, role) VALUES ($1, $2, $3)"
    " ON CONFLICT (room_key, account) DO UPDATE SET role = excluded.role"
)
DROP_ROOM_ROLE = "DELETE FROM room_roles WHERE room_key = $1 AND account = $2"
SAVE_ROOM_MODES = (
    "INSERT INTO room_modes (room_key, modes) VALUES ($1, $2)"
    " ON CONFLICT (room_key) DO UPDATE SET modes = excluded.modes"
)
SAVE_INVITE = "INSERT INTO invites (room_key, account) VALUES ($1, $2) ON CONFLICT DO NOTHING"
DROP_INVITE = "DELETE FROM invites WHERE room_key = $1 AND account = $2"
# The text and its words leave the row; VACUUM (PostgresStore.purge) later removes the old
# row version, which still holds them, and its index entries.
DELETE_MESSAGE = (
    "UPDATE messages SET body = '', quoted = false, words = NULL, deleted = true"
    " WHERE id = $1 AND kind IN ('chat', 'file')"
)


Statements = list[tuple[str, tuple[Any, ...]]]


def statements(batch: Batch) -> Statements:
    """The batch's writes in the order they must run."""
    out: Statements = []
    if batch.messages or batch.privates:
        out.append((INSERT_MESSAGES, tuple(message_columns(batch))))
    if batch.deleted:  # before the upserts: a room deleted and made again is a new room
        gone = list(batch.deleted)
        out += [(f"DELETE FROM {table} = ANY($1::text[])", (gone,)) for table in _ROOM_TABLES]
    if batch.rooms:
        keys = list(batch.rooms)
        names = [batch.rooms[k].name for k in keys]
        topics = [plain(batch.rooms[k].topic) for k in keys]
        setters = [plain(batch.rooms[k].topic_by) for k in keys]
        times = [batch.rooms[k].topic_at for k in keys]
        out.append((UPSERT_ROOMS, (keys, names, topics, setters, times)))
    out += [(sql, params) for _, sql, params in batch.moderation]
    joins = [pair for pair, member in batch.memberships.items() if member]
    leaves = [pair for pair, member in batch.memberships.items() if not member]
    if joins:
        out.append((JOIN_ROOMS, ([a for a, _ in joins], [r for _, r in joins])))
    if leaves:
        out.append((LEAVE_ROOMS, ([a for a, _ in leaves], [r for _, r in leaves])))
    return out


UPSERT_ROOMS = (
    "INSERT INTO rooms (key, name, topic, topic_by, topic_at)"
    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[])"
    " ON CONFLICT (key) DO UPDATE SET name = excluded.name, topic = excluded.topic,"
    " topic_by = excluded.topic_by, topic_at = excluded.topic_at"
)
JOIN_ROOMS = (
    "INSERT INTO memberships SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING"
)
LEAVE_ROOMS = (
    "DELETE FROM memberships m USING unnest($1::text[], $2::text[]) AS t(u, r)"
    " WHERE m.user_key = t.u AND m.room_key = t.r"
)


async def write(db: Db, todo: Statements) -> None:
    """A batch's statements (`statements`) as one transaction, durable when it returns. A
    batch of one statement (messages only: the usual group commit) is sent alone, as its
    own transaction: one round trip instead of three (BEGIN, the INSERT, COMMIT)."""
    if len(todo) == 1:
        await db.execute(todo[0][0], *todo[0][1])
        return
    async with db.transaction():
        for sql, params in todo:
            await db.execute(sql, *params)


# Under the counter's row lock (taken by the UPDATE before, in the same transaction, so no
# other commit can insert meanwhile): the batch's rows under their final ids, what this
# node committed last (for a retry that does not know whether its first try went through),
# and each batch room's last message id before this batch.
INSERT_SEQUENCED = (
    "WITH inserted AS (" + INSERT_MESSAGES.replace(" ON CONFLICT (id) DO NOTHING", "") + "),"
    " noted AS (INSERT INTO node_commits (node, top, last, count) VALUES ($15, $16, $17, 0)"
    " ON CONFLICT (node) DO UPDATE SET top = excluded.top, last = excluded.last)"
    " SELECT k, (SELECT max(id) FROM messages WHERE room_key = k)"
    " FROM unnest($18::text[]) AS k"
)
TAKE_IDS = "UPDATE id_counters SET last = last + $1 WHERE name = 'messages' RETURNING last"


async def write_sequenced(
    db: Db, todo: Statements, node: str, base: int, top: int, retry: bool
) -> dict[int, tuple[int, int]]:
    """A batch whose first statement is INSERT_MESSAGES with provisional ids in (base, top],
    as one transaction that gives them their final ids: the counter moves on by top - base
    and each id keeps its place in that span (ids skipped by the node stay skipped, so a
    server alone on its database gets final ids equal to its provisional ones). Returns
    provisional id -> (final id, previous message id in its room, 0: none)."""
    columns = list(todo[0][1])
    finals: dict[int, tuple[int, int]] = {}
    async with db.transaction():
        if retry:  # an earlier try of this batch's first messages may have gone through
            done = await db.fetchrow("SELECT top, last FROM node_commits WHERE node = $1", node)
            if done is not None and done["top"] > base:
                base = await _already(db, columns, done["top"], done["last"], finals)
        keep = [i for i, pid in enumerate(columns[0]) if pid > base]
        if keep:
            last = int(await db.fetchval(TAKE_IDS, top - base))
            kept = [[col[i] for i in keep] for col in columns]
            provisional = kept[0]
            kept[0] = [last - top + pid for pid in provisional]
            rooms = sorted({k for k in kept[2] if k is not None})
            before = await db.fetch(INSERT_SEQUENCED, *kept, node, top, last, rooms)
            _chain(finals, provisional, kept[0], kept[2], {k: m or 0 for k, m in before})
        for sql, params in todo[1:]:
            await db.execute(sql, *params)
    return finals


def _chain(
    finals: dict[int, tuple[int, int]],
    provisional: list[int],
    final: list[int],
    room_keys: list[str | None],
    last: dict[str, int],
) -> None:
    """Map provisional -> (final, prev): a room message's prev is its room's last id
    before it; a private message has none."""
    for pid, fid, key in sorted(zip(provisional, final, room_keys, strict=True)):
        if key is None:
            finals[pid] = (fid, 0)
        else:
            finals[pid] = (fid, last.get(key, 0))
            last[key] = fid


async def _already(
    db: Db, columns: list[list[Any]], top: int, last: int, finals: dict[int, tuple[int, int]]
) -> int:
    """Map the rows an earlier try committed (provisional ids up to `top`, which took the
    final ids up to `last`); returns the new base (`top`)."""
    done = [i for i, pid in enumerate(columns[0]) if pid <= top]
    provisional = [columns[0][i] for i in done]
    final = [last - top + pid for pid in provisional]
    keys = [columns[2][i] for i in done]
    firsts: dict[str, int] = {}
    for fid, key in zip(final, keys, strict=True):
        if key is not None:
            firsts[key] = min(fid, firsts.get(key, fid))
    rows = await db.fetch(
        "SELECT k, (SELECT max(id) FROM messages WHERE room_key = k AND id < f)"
        " FROM unnest($1::text[], $2::bigint[]) AS t(k, f)",
        list(firsts),
        list(firsts.values()),
    )
    _chain(finals, provisional, final, keys, {k: m or 0 for k, m in rows})
    return top


# --------------------------------------------------------------------------- reading


async def select(db: Db, sql: str, *params: Any) -> list[StoredNotice]:
    return [from_record(row) for row in await db.fetch(sql, *params)]


def _page_limit(limit: int) -> int:
    return max(0, min(limit, MAX_PAGE))


async def history(
    db: Db, room_key: str, before: int | None, after: int | None, limit: int
) -> list[StoredNotice]:
    limit = _page_limit(limit)
    upper = before if before is not None else 2**63 - 1
    if after is not None:
        return await select(
            db,
            f"SELECT {COLUMNS} FROM messages WHERE room_key = $1 AND id > $2 AND id < $3"
            " ORDER BY id LIMIT $4",
            room_key,
            after,
            upper,
            limit,
        )
    rows = await select(
        db,
        f"SELECT {COLUMNS} FROM messages WHERE room_key = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        room_key,
        upper,
        limit,
    )
    rows.reverse()
    return rows


async def missed(
    db: Db, account: str | None, room_keys: Sequence[str], since: int, upto: int, limit: int
) -> list[StoredNotice]:
    # account NULL (a guest) matches no row: `x = NULL` is never true in SQL.
    return await select(
        db,
        f"SELECT {COLUMNS} FROM messages WHERE id > $1 AND id <= $2 AND"
        " (room_key = ANY($3::text[]) OR sender_account = $4 OR target_account = $4)"
        " ORDER BY id LIMIT $5",
        since,
        upto,
        list(room_keys),
        account,
        max(0, limit),
    )


async def search(db: Db, room_key: str, query: str, limit: int) -> list[StoredNotice]:
    match = word_query(query)
    limit = _page_limit(limit)
    if match is None or not limit:
        return []
    rows = await select(
        db,
        f"SELECT {COLUMNS} FROM messages WHERE words @@ $1::tsquery AND room_key = $2"
        " ORDER BY id DESC LIMIT $3",
        match,
        room_key,
        limit,
    )
    rows.reverse()
    return rows


async def id_at(db: Db, timestamp: float) -> int:
    """A binary search over ids, one primary-key seek a step (see sqlite_ops.id_at)."""
    low, high = 0, int(await db.fetchval("SELECT coalesce(max(id), 0) FROM messages"))
    while low < high:
        middle = (low + high + 1) // 2
        row = await db.fetchrow(
            "SELECT id, ts FROM messages WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT 1",
            middle,
            high,
        )
        if row is not None and row["ts"] < timestamp:
            low = int(row["id"])
        else:
            high = middle - 1
    return low


async def message(db: Db, message_id: int) -> StoredNotice | None:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM messages WHERE id = $1", message_id)
    return None if row is None else from_record(row)


async def audit(db: Db, room_key: str | None, since: float | None, limit: int) -> list[AuditRecord]:
    rows = await db.fetch(
        "SELECT id, ts, actor, action, target, room, reason, until FROM audit"
        " WHERE ($1::text IS NULL OR room_key = $1) AND ts >= $2 ORDER BY id DESC LIMIT $3",
        room_key,
        since or 0.0,
        _page_limit(limit),
    )
    return [AuditRecord(*row) for row in reversed(rows)]


async def private_history(
    db: Db, account: str, other: str, before: int | None, after: int | None, limit: int
) -> list[StoredNotice]:
    limit = _page_limit(limit)
    upper = before if before is not None else 2**63 - 1
    between = (
        "kind = 'private' AND ((sender_account = $1 AND target_account = $2)"
        " OR (sender_account = $2 AND target_account = $1))"
    )
    if after is not None:
        return await select(
            db,
            f"SELECT {COLUMNS} FROM messages WHERE {between} AND id > $3 AND id < $4"
            " ORDER BY id LIMIT $5",
            account,
            other,
            after,
            upper,
            limit,
        )
    rows = await select(
        db,
        f"SELECT {COLUMNS} FROM messages WHERE {between} AND id < $3 ORDER BY id DESC LIMIT $4",
        account,
        other,
        upper,
        limit,
    )
    rows.reverse()
    return rows


# --------------------------------------------------------------------------- accounts

_ACCOUNT = "key, name, password_hash, role, created"


def _account(row: asyncpg.Record | None) -> AccountRecord | None:
    return None if row is None else AccountRecord(*row)


async def get_account(db: Db, key: str) -> AccountRecord | None:
    return _account(await db.fetchrow(f"SELECT {_ACCOUNT} FROM accounts WHERE key = $1", key))


async def list_accounts(db: Db) -> list[AccountRecord]:
    # lower(): the SQLite store's NOCASE and the memory store's sort, byte order otherwise
    rows = await db.fetch(f'SELECT {_ACCOUNT} FROM accounts ORDER BY lower(name) COLLATE "C"')
    return [AccountRecord(*row) for row in rows]


def _count(status: str) -> int:
    """Rows a statement changed, from its status ("UPDATE 1", "INSERT 0 1", "DELETE 3")."""
    return int(status.rsplit(" ", 1)[-1])


async def create_account(db: Db, record: AccountRecord) -> bool:
    status = await db.execute(
        f"INSERT INTO accounts ({_ACCOUNT}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        record.key,
        record.name,
        record.password_hash,
        record.role,
        record.created,
    )
    return _count(status) == 1


async def update_account(db: Db, key: str, password_hash: str | None, role: str | None) -> bool:
    status = await db.execute(
        "UPDATE accounts SET password_hash = coalesce($1, password_hash),"
        " role = coalesce($2, role) WHERE key = $3",
        password_hash,
        role,
        key,
    )
    return _count(status) == 1


async def delete_account(db: Db, key: str) -> bool:
    async with db.transaction():
        status = await db.execute("DELETE FROM accounts WHERE key = $1", key)  # tokens cascade
        await db.execute("DELETE FROM memberships WHERE user_key = $1", key)
    return _count(status) == 1


async def add_token(db: Db, token_hash: str, key: str, created: float, expires: float) -> None:
    await db.execute(
        "INSERT INTO tokens (hash, account, created, expires) VALUES ($1, $2, $3, $4)",
        token_hash,
        key,
        created,
        expires,
    )


async def token_account(db: Db, token_hash: str, now: float) -> AccountRecord | None:
    row = await db.fetchrow(
        f"SELECT {', '.join('a.' + c for c in _ACCOUNT.split(', '))} FROM tokens t"
        " JOIN accounts a ON a.key = t.account WHERE t.hash = $1 AND t.expires > $2",
        token_hash,
        now,
    )
    return _account(row)


async def live_tokens(db: Db, token_hashes: list[str], now: float) -> set[str]:
    rows = await db.fetch(
        "SELECT t.hash FROM tokens t JOIN accounts a ON a.key = t.account"
        " WHERE t.expires > $1 AND t.hash = ANY($2::text[])",
        now,
        token_hashes,
    )
    return {row[0] for row in rows}


async def revoke_tokens(db: Db, key: str, only: str | None, keep: str | None) -> int:
    if only is not None:
        status = await db.execute("DELETE FROM tokens WHERE account = $1 AND hash = $2", key, only)
    else:
        status = await db.execute(
            "DELETE FROM tokens WHERE account = $1 AND hash IS DISTINCT FROM $2", key, keep
        )
    return _count(status)
