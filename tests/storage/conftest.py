"""Store backends for the contract suite.

Each backend is a fixture named `<name>_backend` that yields a `Backend`; adding one (for
example PostgreSQL, skipped through `needs_service` when no server is at hand) means
writing that fixture and adding its name to BACKENDS.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chinwag.storage.base import Store
from chinwag.storage.memory import MemoryStore
from chinwag.storage.sqlite import SQLiteStore
from tests.postgres_support import PG_URL, fresh_schema, pg_run

BACKENDS = ["memory", "sqlite", "postgres"]


@dataclass
class Backend:
    name: str
    # A Store over this backend's data; calling it again after close() reopens the data.
    store: Callable[[], Store]
    # Whether data outlives the Store object (False: reopen means the same object).
    persistent: bool
    # A context manager under which commits of `store` fail, or None if it cannot be done.
    failing_commits: Callable[[Store], contextlib.AbstractContextManager[None]] | None = None


@contextlib.contextmanager
def _sqlite_failing_commits(store: Store) -> Iterator[None]:
    """A temporary trigger that aborts every insert into messages on the store's connection."""
    assert isinstance(store, SQLiteStore)
    store.db.execute(
        "CREATE TEMP TRIGGER fail_inserts BEFORE INSERT ON main.messages"
        " BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            store.db.execute("DROP TRIGGER temp.fail_inserts")


@pytest.fixture
def memory_backend() -> Backend:
    only = MemoryStore()
    return Backend("memory", lambda: only, persistent=False)


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Backend:
    path = tmp_path / "chinwag.sqlite3"
    return Backend(
        "sqlite",
        lambda: SQLiteStore(path),
        persistent=True,
        failing_commits=_sqlite_failing_commits,
    )


@contextlib.contextmanager
def _postgres_failing_commits(store: Store) -> Iterator[None]:
    """A trigger that aborts every insert into the store's messages table."""
    from chinwag.storage.postgres import PostgresStore

    assert isinstance(store, PostgresStore) and store.schema is not None
    schema = f'"{store.schema}"'
    pg_run(
        f"CREATE FUNCTION {schema}.fail() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;"
        f" CREATE TRIGGER fail_inserts BEFORE INSERT ON {schema}.messages"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {schema}.fail()"
    )
    try:
        yield
    finally:
        pg_run(f"DROP TRIGGER fail_inserts ON {schema}.messages; DROP FUNCTION {schema}.fail()")


@pytest.fixture
def postgres_backend() -> Iterator[Backend]:
    """A schema of its own in the test server's database, dropped after the test."""
    from chinwag.storage.postgres import PostgresStore

    with fresh_schema() as schema:
        yield Backend(
            "postgres",
            lambda: PostgresStore(PG_URL, schema=schema),
            persistent=True,
            failing_commits=_postgres_failing_commits,
        )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    found = request.getfixturevalue(f"{request.param}_backend")
    assert isinstance(found, Backend)
    return found
