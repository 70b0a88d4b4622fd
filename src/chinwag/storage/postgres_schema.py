"""Versioned schema of the PostgreSQL store. Append a migration; never edit a shipped one.

The table `schema_version` holds how many migrations a database has had; opening an older
one runs the missing ones in order, each in its own transaction under an advisory lock (two
servers starting at once migrate once). DDL is transactional in PostgreSQL: a migration that
fails leaves nothing half done.
"""

from __future__ import annotations

# pg_advisory_xact_lock key of migrations (any constant: "chinwag" in ASCII).
MIGRATION_LOCK = 0x6368696E776167

MIGRATIONS: tuple[str, ...] = (
    # 1: everything the SQLite store has after its seven migrations, in one step.
    """
    -- Ids are handed out from these counters in blocks (storage/postgres_ids.py): a row per
    -- sequence, so that a block can be reserved and an unused tail given back in one
    -- transactional UPDATE each (a SEQUENCE cannot take a tail back safely).
    CREATE TABLE id_counters (
        name TEXT PRIMARY KEY,
        last BIGINT NOT NULL
    );
    INSERT INTO id_counters VALUES ('messages', 0), ('audit', 0);
    CREATE TABLE messages (
        id BIGINT PRIMARY KEY,
        -- file: a file shared in a room; its body is the file's description as JSON
        kind TEXT NOT NULL CHECK (kind IN ('chat', 'private', 'topic', 'file')),
        room_key TEXT,
        room TEXT,
        username TEXT NOT NULL,
        user_key TEXT NOT NULL,
        target TEXT,
        target_key TEXT,
        -- PostgreSQL text cannot hold NUL: a body with one is stored as a JSON string and
        -- `quoted` says so (postgres_ops.stored_body), so every text comes back exactly.
        body TEXT NOT NULL,
        quoted BOOLEAN NOT NULL DEFAULT false,
        ts DOUBLE PRECISION NOT NULL,
        sender_account TEXT,
        target_account TEXT,
        deleted BOOLEAN NOT NULL DEFAULT false,
        -- Chat text's words, as the memory store's tokenizer sees them (postgres_ops.words).
        words TSVECTOR
    );
    CREATE INDEX messages_by_room ON messages (room_key, id) WHERE room_key IS NOT NULL;
    CREATE INDEX messages_by_sender_account ON messages (sender_account, id)
        WHERE sender_account IS NOT NULL;
    CREATE INDEX messages_by_target_account ON messages (target_account, id)
        WHERE target_account IS NOT NULL;
    CREATE INDEX messages_words ON messages USING gin (words);
    CREATE TABLE rooms (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        topic TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE memberships (
        user_key TEXT NOT NULL,
        room_key TEXT NOT NULL,
        PRIMARY KEY (user_key, room_key)
    );
    CREATE TABLE probe (x TEXT);
    CREATE TABLE accounts (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'member',
        created DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY,
        account TEXT NOT NULL REFERENCES accounts (key) ON DELETE CASCADE,
        created DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX tokens_by_account ON tokens (account);
    CREATE TABLE room_roles (
        room_key TEXT NOT NULL,
        account TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (room_key, account)
    );
    CREATE TABLE room_modes (
        room_key TEXT PRIMARY KEY,
        modes TEXT NOT NULL
    );
    CREATE TABLE invites (
        room_key TEXT NOT NULL,
        account TEXT NOT NULL,
        PRIMARY KEY (room_key, account)
    );
    CREATE TABLE sanctions (
        kind TEXT NOT NULL CHECK (kind IN ('ban', 'mute')),
        room_key TEXT NOT NULL,
        subject TEXT NOT NULL,
        until DOUBLE PRECISION,
        reason TEXT NOT NULL DEFAULT '',
        by_name TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (kind, room_key, subject)
    );
    CREATE TABLE audit (
        id BIGINT PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        room TEXT NOT NULL DEFAULT '',
        room_key TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        until DOUBLE PRECISION
    );
    CREATE INDEX audit_by_room ON audit (room_key, id);
    """,
    # 2: ids in commit order (postgres_ops.write_sequenced): what each server process
    # committed last, so that a commit retried after a lost answer is not stored twice.
    """
    CREATE TABLE node_commits (
        node TEXT PRIMARY KEY,
        top BIGINT NOT NULL,
        last BIGINT NOT NULL,
        count INTEGER NOT NULL
    );
    """,
    # 3: who set each room's topic, and when (IRC's 333); existing topics take both from
    # their newest topic message.
    """
    ALTER TABLE rooms ADD COLUMN topic_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE rooms ADD COLUMN topic_at DOUBLE PRECISION NOT NULL DEFAULT 0;
    UPDATE rooms SET
        topic_by = coalesce((SELECT m.username FROM messages m WHERE m.room_key = rooms.key
                             AND m.kind = 'topic' ORDER BY m.id DESC LIMIT 1), ''),
        topic_at = coalesce((SELECT m.ts FROM messages m WHERE m.room_key = rooms.key
                             AND m.kind = 'topic' ORDER BY m.id DESC LIMIT 1), 0);
    """,
)
