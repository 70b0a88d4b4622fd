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
)
