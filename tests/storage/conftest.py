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

BACKENDS = ["memory", "sqlite"]


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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    found = request.getfixturevalue(f"{request.param}_backend")
    assert isinstance(found, Backend)
    return found
