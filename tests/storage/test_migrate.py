"""`chinwag migrate`: a data folder's SQLite store copied into PostgreSQL reads back the same
through the Store interface, and ids go on above the copied ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chinwag.cli import main
from chinwag.protocol.events import FileShared
from chinwag.storage.base import AccountRecord, AuditRecord, RoomRecord, Sanction, Store
from chinwag.storage.postgres import PostgresStore
from chinwag.storage.sqlite import SQLiteStore
from tests.postgres_support import PG_URL, fresh_schema, pg_run, pg_value
from tests.storage.test_store_contract import chat, ids, mixed_traffic, private, put, run, topic


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema() as name:
        pg_run(f'CREATE SCHEMA "{name}"')
        yield name


def url(schema: str) -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"


async def make_sqlite(data: Path) -> None:
    store = SQLiteStore(data / "chinwag.sqlite3")
    await store.open()
    for notice in mixed_traffic(1200):
        put(store, notice)
    put(store, chat(5000, "dev", text="a secret said in dev"))
    put(store, private(5001, "alice", "bob", "between accounts"), ("alice", "bob"))
    put(store, topic(5002, "Dev", "the dev topic"))
    put(store, chat(5003, "dev", text="kept words"))
    put(store, FileShared(5004, "dev", "bob", "plan.pdf", 12, "application/pdf", "/f/5004", 2e9))
    store.save_room(RoomRecord("Dev", "the dev topic"))
    store.save_room(RoomRecord("general"))
    store.save_membership("alice", "dev", True)
    store.save_room_role("dev", "alice", "owner")
    store.save_room_modes("dev", ("invite",))
    store.save_invite("dev", "bob", True)
    store.save_sanction(Sanction("ban", "dev", "account:carol", 2e9, "spam", "alice", "carol"))
    store.record(AuditRecord(0, 10.0, "alice", "ban", "carol", "Dev", "spam", 2e9))
    store.delete_message(5000)
    await store.commit()
    await store.create_account(AccountRecord("alice", "Alice", "$argon2id$a", "admin", 1.0))
    await store.create_account(AccountRecord("bob", "bob", "$argon2id$b", "member", 2.0))
    await store.add_token("token-hash", "alice", 1.0, 1e10)
    await store.close()


async def everything(store: Store) -> list[object]:
    state = await store.open()
    state.rooms.sort(key=lambda r: r.name)
    state.sanctions.sort(key=lambda s: s.subject)
    seen: list[object] = [state]
    for room in ("general", "dev", "ops"):
        seen.append(await store.history(room, after=0, limit=500))
        seen.append(await store.history(room, limit=500))
        seen.append(await store.search(room, "message", 500))
    seen.append(await store.search("dev", "secret", 10))
    seen.append(await store.missed("alice", ["dev"], 0, 10**6, 10**6))
    seen.append(await store.private_history("alice", "bob"))
    seen.append(await store.message(5000))
    seen.append(await store.accounts())
    seen.append(await store.token_account("token-hash", 5.0))
    seen.append(await store.audit(None, None, 100))
    return seen


def test_a_data_folder_reads_back_the_same_from_postgres(
    tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(make_sqlite(tmp_path))
    assert main(["migrate", "--data", str(tmp_path), "--store", url(schema)]) == 0
    assert "Copied" in capsys.readouterr().out

    async def compare() -> None:
        sqlite = SQLiteStore(tmp_path / "chinwag.sqlite3")
        postgres = PostgresStore(PG_URL, schema=schema)
        before, after = await everything(sqlite), await everything(postgres)
        assert len(ids(before[2])) > 300  # type: ignore[arg-type]
        assert after == before
        assert await postgres.search("dev", "secret", 10) == []  # deleted stays deleted
        assert postgres.next_id() == 5005
        await postgres.close()
        await sqlite.close()

    run(compare())


def test_migrating_twice_is_refused_and_changes_nothing(
    tmp_path: Path, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(make_sqlite(tmp_path))
    assert main(["migrate", "--data", str(tmp_path), "--store", url(schema)]) == 0
    assert main(["migrate", "--data", str(tmp_path), "--store", url(schema)]) == 1
    assert "already holds chinwag data" in capsys.readouterr().err
    assert pg_value(f'SELECT count(*) FROM "{schema}".accounts') == 2
    assert pg_value(f'SELECT count(*) FROM "{schema}".messages') == 1205


def test_migrate_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--data", str(tmp_path)]) == 2
    assert "--store postgresql://" in capsys.readouterr().err
    assert main(["migrate", "--data", str(tmp_path), "--store", "postgresql://u@h/db"]) == 1
    assert "no chinwag data" in capsys.readouterr().err
