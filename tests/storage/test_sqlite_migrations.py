"""Versioned migrations of the SQLite store: upgrade older files, refuse newer ones."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from chinwag.errors import StoreError
from chinwag.protocol.events import ChatMessage
from chinwag.storage import sqlite_ops as sqlite_module
from chinwag.storage.base import RoomRecord
from chinwag.storage.sqlite import SQLiteStore
from chinwag.storage.sqlite_schema import MIGRATIONS

CURRENT = len(MIGRATIONS)


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def tables(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()


def make_v1(path: Path) -> None:
    """A database as chinwag's first schema left it, with some data in it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    db.execute(
        "INSERT INTO messages (id, kind, room_key, room, username, user_key, body, ts)"
        " VALUES (7, 'chat', 'general', 'general', 'alice', 'alice', 'kept words', 1.5)"
    )
    db.execute("INSERT INTO rooms VALUES ('dev', 'Dev', 'old topic')")
    db.execute("INSERT INTO memberships VALUES ('alice', 'dev')")
    db.close()


def test_an_empty_file_is_a_version_0_database_and_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "v0.sqlite3"
    path.touch()

    async def scenario() -> None:
        store = SQLiteStore(path)
        state = await store.open()
        assert state.last_id == 0
        assert store.schema_version() == CURRENT
        store.append(ChatMessage(store.next_id(), "general", "alice", "hello there", 1.0))
        await store.close()

    asyncio.run(scenario())
    assert user_version(path) == CURRENT
    assert {"messages", "rooms", "memberships", "messages_fts"} <= tables(path)


def test_a_version_1_database_opens_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    make_v1(path)

    async def scenario() -> None:
        store = SQLiteStore(path)
        state = await store.open()
        assert state.last_id == 7
        assert [(r.name, r.topic) for r in state.rooms] == [("Dev", "old topic")]
        # saved rooms were kept under names nobody had proven: migration 3 drops them
        assert state.memberships == {}
        assert [m.id for m in await store.history("general")] == [7]
        assert [m.id for m in await store.search("general", "kept", 10)] == [7]
        # messages written after the upgrade are indexed once, by the store
        store.append(ChatMessage(store.next_id(), "general", "bob", "kept again", 2.0))
        await store.commit()
        assert [m.id for m in await store.search("general", "kept", 10)] == [7, 8]
        await store.close()

    asyncio.run(scenario())
    assert user_version(path) == CURRENT


def test_an_older_database_runs_the_missing_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.sqlite3"
    make_v1(path)
    later = (
        *MIGRATIONS,
        "CREATE TABLE later_things (key TEXT PRIMARY KEY, name TEXT NOT NULL)",
        "ALTER TABLE rooms ADD COLUMN created REAL NOT NULL DEFAULT 0",
    )
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", later)

    async def scenario() -> None:
        store = SQLiteStore(path)
        state = await store.open()
        assert store.schema_version() == len(later)
        assert state.last_id == 7
        assert [(r.name, r.topic) for r in state.rooms] == [("Dev", "old topic")]
        store.save_room(RoomRecord("ops", "new"))
        store.append(ChatMessage(store.next_id(), "ops", "bob", "after the upgrade", 2.0))
        await store.close()
        store = SQLiteStore(path)  # opening again runs nothing
        state = await store.open()
        assert sorted(r.name for r in state.rooms) == ["Dev", "ops"]
        assert [m.id for m in await store.history("ops")] == [8]
        await store.close()

    asyncio.run(scenario())
    assert user_version(path) == len(later)
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(rooms)")]
    assert "created" in columns


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    make_v1(path)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {CURRENT + 1}")

    async def scenario() -> None:
        store = SQLiteStore(path)
        with pytest.raises(StoreError, match="newer"):
            await store.open()
        with pytest.raises(StoreError):
            store.db  # noqa: B018 - a refused store stays closed

    asyncio.run(scenario())
    assert user_version(path) == CURRENT + 1  # untouched
    # The refused store let go of the file: another writer is not blocked.
    db = sqlite3.connect(path, timeout=0)
    db.execute("BEGIN IMMEDIATE")
    db.execute("ROLLBACK")
    db.close()


def test_a_failed_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.sqlite3"
    make_v1(path)
    broken = (
        *MIGRATIONS,
        "CREATE TABLE later_things (key TEXT PRIMARY KEY);"
        " INSERT INTO rooms VALUES ('half', 'half', '');"
        " ALTER TABLE no_such_table ADD COLUMN x",
    )
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", broken)

    async def scenario() -> None:
        store = SQLiteStore(path)
        with pytest.raises(StoreError, match=f"version {CURRENT + 1}"):
            await store.open()

    asyncio.run(scenario())
    assert user_version(path) == CURRENT  # the good migrations stay, the broken one left nothing
    assert "later_things" not in tables(path)
    # Nothing holds the file: a fixed chinwag opens it and finds the old data intact.
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS)

    async def fixed() -> None:
        store = SQLiteStore(path)
        state = await store.open()
        assert [r.name for r in state.rooms] == ["Dev"]
        assert state.last_id == 7
        await store.close()

    asyncio.run(fixed())


def test_a_failed_first_migration_leaves_an_empty_version_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v0.sqlite3"
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", ("CREATE TABLE t (x); CREATE TABLE t (x)",))

    async def scenario() -> None:
        with pytest.raises(StoreError):
            await SQLiteStore(path).open()

    asyncio.run(scenario())
    assert user_version(path) == 0
    assert tables(path) == set()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not an SQLite database, just some text\n" * 100)

    async def scenario() -> None:
        with pytest.raises(StoreError):
            await SQLiteStore(path).open()

    asyncio.run(scenario())


def test_private_messages_from_before_accounts_are_replayed_to_nobody(tmp_path: Path) -> None:
    """Version 2 kept private messages under claimed names; nobody had proven them."""
    path = tmp_path / "v2.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN; {MIGRATIONS[0]}; {MIGRATIONS[1]}; PRAGMA user_version = 2; COMMIT;")
    db.execute(
        "INSERT INTO messages (id, kind, username, user_key, target, target_key, body, ts)"
        " VALUES (3, 'private', 'bob', 'bob', 'alice', 'alice', 'secret', 1.5)"
    )
    db.close()

    async def scenario() -> None:
        store = SQLiteStore(path)
        state = await store.open()
        assert state.last_id == 3
        for account in ("alice", "bob", None):
            assert await store.missed(account, [], 0, 3, 10) == []
        await store.close()

    asyncio.run(scenario())


def test_one_data_folder_serves_one_store_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "chinwag.sqlite3"

    async def scenario() -> None:
        first = SQLiteStore(path)
        await first.open()
        second = SQLiteStore(path)
        with pytest.raises(StoreError, match="in use by another chinwag server"):
            await second.open()
        await first.close()
        await second.open()  # free again once the first lets go
        await second.close()

    asyncio.run(scenario())


def test_the_file_kind_migration_keeps_messages_search_and_the_id_counter(tmp_path: Path) -> None:
    path = tmp_path / "v5.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:5], 1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    db.execute(
        "INSERT INTO messages (id, kind, room_key, room, username, user_key, body, ts)"
        " VALUES (7, 'chat', 'general', 'general', 'alice', 'alice', 'kept words', 1.5)"
    )
    db.execute("INSERT INTO messages_fts (rowid, body) VALUES (7, 'kept words')")
    # Ids up to 9 were handed out (8 and 9 never stored): none may come back.
    db.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'messages'")
    db.close()

    async def scenario() -> None:
        from chinwag.protocol.events import FileShared

        store = SQLiteStore(path)
        state = await store.open()
        assert state.last_id == 9
        assert [m.id for m in await store.search("general", "kept", 10)] == [7]
        shared = FileShared(store.next_id(), "general", "bob", "a.txt", 3, "text/plain", "u", 2.0)
        assert shared.id == 10
        store.append(shared)
        await store.commit()
        assert await store.history("general", after=7) == [shared]
        await store.close()

    asyncio.run(scenario())
    assert user_version(path) == CURRENT


def test_the_topic_setter_migration_takes_each_topic_from_its_newest_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v7.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:7], 1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    rows = [(3, "alice", "old", 10.0), (5, "bob", "new", 20.5)]
    for id_, who, text, ts in rows:
        db.execute(
            "INSERT INTO messages (id, kind, room_key, room, username, user_key, body, ts)"
            " VALUES (?, 'topic', 'dev', 'Dev', ?, ?, ?, ?)",
            (id_, who, who, text, ts),
        )
    db.execute("INSERT INTO rooms VALUES ('dev', 'Dev', 'new'), ('ops', 'ops', '')")
    db.close()

    async def scenario() -> None:
        store = SQLiteStore(path)
        state = await store.open()
        got = {r.name: (r.topic, r.topic_by, r.topic_at) for r in state.rooms}
        assert got == {"Dev": ("new", "bob", 20.5), "ops": ("", "", 0.0)}
        await store.close()

    asyncio.run(scenario())
    assert user_version(path) == CURRENT
