"""A real PostgreSQL for tests: where it is, whether it answers, a fresh schema per test.

The server is CHINWAG_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test, as
CI has it). Tests call `require_postgres()`: skipped on a machine without one, failed under
CI=true (tests.helpers.needs_service). Each test gets a schema of its own, dropped after it,
so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from typing import Any

from tests.helpers import needs_service

PG_URL = os.environ.get("CHINWAG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def pg_run(sql: str) -> Any:
    """Run SQL (a script may hold several statements) on a connection of its own; from sync
    code, also while the caller's event loop runs (it goes in a thread)."""
    return _in_thread(sql, False)


def pg_value(sql: str) -> Any:
    """The first value of one query's first row."""
    return _in_thread(sql, True)


def _in_thread(sql: str, value: bool) -> Any:
    async def go() -> Any:
        import asyncpg

        db = await asyncpg.connect(PG_URL, timeout=5)
        try:
            return await (db.fetchval(sql) if value else db.execute(sql))
        finally:
            await db.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(timeout=30)


@functools.cache
def _available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "asyncpg is not installed (pip install -e '.[dev]')"
    try:
        pg_run("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL is not reachable at {PG_URL} ({exc}); set CHINWAG_TEST_POSTGRES"
    return None


def require_postgres() -> None:
    reason = _available()
    needs_service(reason is None, reason or "")


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A schema name nobody uses; dropped, with everything in it, afterwards."""
    require_postgres()
    name = f"test_{uuid.uuid4().hex[:16]}"
    try:
        yield name
    finally:
        pg_run(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
