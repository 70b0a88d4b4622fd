"""Versioned schema of the SQLite store. Append a migration; never edit a shipped one.

`PRAGMA user_version` records how many migrations a database has had; opening an older
database runs the missing ones in order, each in its own transaction.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: messages, rooms, memberships, full-text search over chat text
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: an id is never reused
        kind TEXT NOT NULL CHECK (kind IN ('chat', 'private', 'topic')),
        room_key TEXT,
        room TEXT,
        username TEXT NOT NULL,
        user_key TEXT NOT NULL,
        target TEXT,
        target_key TEXT,
        body TEXT NOT NULL,
        ts REAL NOT NULL
    );
    CREATE INDEX messages_by_room ON messages (room_key, id) WHERE room_key IS NOT NULL;
    CREATE INDEX messages_by_sender ON messages (user_key, id) WHERE kind = 'private';
    CREATE INDEX messages_by_target ON messages (target_key, id) WHERE kind = 'private';
    CREATE TABLE rooms (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        topic TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE TABLE memberships (
        user_key TEXT NOT NULL,
        room_key TEXT NOT NULL,
        PRIMARY KEY (user_key, room_key)
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        body, content = 'messages', content_rowid = 'id', tokenize = 'unicode61'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.kind = 'chat'
    BEGIN
        INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
    END;
    """,
    # 2: chat text is indexed by one INSERT ... SELECT per commit (SQLiteStore.commit_now),
    # not by a trigger per row: 3 us instead of 20 us a message (docs/performance.md).
    """
    DROP TRIGGER messages_fts_insert;
    """,
    # 3: what is kept per user is kept per account (a proven identity), never per claimed name.
    # A private message records the accounts of its parties (NULL for a guest); missed() looks
    # only there. Saved rooms were kept under names that nobody had proven: they are dropped,
    # so that no later holder of a name (or a later account of that name) inherits them.
    """
    ALTER TABLE messages ADD COLUMN sender_account TEXT;
    ALTER TABLE messages ADD COLUMN target_account TEXT;
    DROP INDEX messages_by_sender;
    DROP INDEX messages_by_target;
    CREATE INDEX messages_by_sender_account ON messages (sender_account, id)
        WHERE sender_account IS NOT NULL;
    CREATE INDEX messages_by_target_account ON messages (target_account, id)
        WHERE target_account IS NOT NULL;
    DELETE FROM memberships;
    """,
    # 4: a scratch table for the write probe a failing store is tested with (a real page
    # write, undone), see sqlite_ops.probe.
    """
    CREATE TABLE probe (x BLOB);
    """,
    # 5: accounts (keyed by the name's skeleton) and their login tokens, stored only hashed.
    """
    CREATE TABLE accounts (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'member',
        created REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY,
        account TEXT NOT NULL REFERENCES accounts (key) ON DELETE CASCADE,
        created REAL NOT NULL,
        expires REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX tokens_by_account ON tokens (account);
    """,
    # 6: moderation. Room roles, modes and invites; bans and mutes in force; the audit log; a
    # deleted message keeps its row (ids and history pages stay exact) without its text.
    """
    CREATE TABLE room_roles (
        room_key TEXT NOT NULL,
        account TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (room_key, account)
    ) WITHOUT ROWID;
    CREATE TABLE room_modes (
        room_key TEXT PRIMARY KEY,
        modes TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE invites (
        room_key TEXT NOT NULL,
        account TEXT NOT NULL,
        PRIMARY KEY (room_key, account)
    ) WITHOUT ROWID;
    CREATE TABLE sanctions (
        kind TEXT NOT NULL CHECK (kind IN ('ban', 'mute')),
        room_key TEXT NOT NULL,
        subject TEXT NOT NULL,
        until REAL,
        reason TEXT NOT NULL DEFAULT '',
        by_name TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (kind, room_key, subject)
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        room TEXT NOT NULL DEFAULT '',
        room_key TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        until REAL
    );
    CREATE INDEX audit_by_room ON audit (room_key, id);
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: `file` messages (files shared in rooms, POST /api/files): the kind's CHECK only
    # changes by rebuilding the table (SQLite's documented way: new table, copy, drop,
    # rename). Ids stay, so the full-text index (rowid = id) stays valid; the AUTOINCREMENT
    # counter is carried over, so no id handed out before is ever handed out again.
    """
    CREATE TABLE messages_v7 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('chat', 'private', 'topic', 'file')),
        room_key TEXT,
        room TEXT,
        username TEXT NOT NULL,
        user_key TEXT NOT NULL,
        target TEXT,
        target_key TEXT,
        body TEXT NOT NULL,
        ts REAL NOT NULL,
        sender_account TEXT,
        target_account TEXT,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO messages_v7
        SELECT id, kind, room_key, room, username, user_key, target, target_key, body, ts,
               sender_account, target_account, deleted
        FROM messages;
    DELETE FROM sqlite_sequence WHERE name = 'messages_v7';
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'messages_v7', seq FROM sqlite_sequence WHERE name = 'messages';
    DROP TABLE messages;
    ALTER TABLE messages_v7 RENAME TO messages;
    CREATE INDEX messages_by_room ON messages (room_key, id) WHERE room_key IS NOT NULL;
    CREATE INDEX messages_by_sender_account ON messages (sender_account, id)
        WHERE sender_account IS NOT NULL;
    CREATE INDEX messages_by_target_account ON messages (target_account, id)
        WHERE target_account IS NOT NULL;
    """,
    # 8: who set each room's topic, and when (IRC's 333); existing topics take both from
    # their newest topic message.
    """
    ALTER TABLE rooms ADD COLUMN topic_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE rooms ADD COLUMN topic_at REAL NOT NULL DEFAULT 0;
    UPDATE rooms SET
        topic_by = coalesce((SELECT m.username FROM messages m WHERE m.room_key = rooms.key
                             AND m.kind = 'topic' ORDER BY m.id DESC LIMIT 1), ''),
        topic_at = coalesce((SELECT m.ts FROM messages m WHERE m.room_key = rooms.key
                             AND m.kind = 'topic' ORDER BY m.id DESC LIMIT 1), 0);
    """,
)
