"""`python -m bench.pg_drivers [DSN]`: asyncpg against psycopg 3 for what the PostgreSQL store
does, on one connection each, one after the other: group commits of 10 messages (one INSERT
of arrays in a transaction, durable at COMMIT) and history pages of 50 rows. psycopg is
only measured when it is installed (`pip install 'psycopg[binary]'`); it is not a
dependency of chinwag."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

DSN = "postgresql://postgres@127.0.0.1:5432/test"
TABLE = "bench_driver_messages"
COMMITS = 2000
PAGES = 2000
ROWS = 10

CREATE = f"""
DROP TABLE IF EXISTS {TABLE};
CREATE TABLE {TABLE} (id bigint PRIMARY KEY, room text NOT NULL, body text NOT NULL,
                      ts double precision NOT NULL);
CREATE INDEX ON {TABLE} (room, id)
"""
INSERT_ASYNCPG = (
    f"INSERT INTO {TABLE} SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[])"
)
INSERT_PSYCOPG = INSERT_ASYNCPG.replace("$1", "%s").replace("$2", "%s").replace("$3", "%s")
INSERT_PSYCOPG = INSERT_PSYCOPG.replace("$4", "%s")
PAGE = f"SELECT id, room, body, ts FROM {TABLE} WHERE room = 'r' ORDER BY id DESC LIMIT 50"


def _rows(start: int) -> tuple[list[int], list[str], list[str], list[float]]:
    ids = list(range(start, start + ROWS))
    return ids, ["r"] * ROWS, [f"message number {i}" for i in ids], [time.time()] * ROWS


async def with_asyncpg(dsn: str) -> dict[str, float]:
    import asyncpg

    db = await asyncpg.connect(dsn)
    try:
        await db.execute(CREATE)
        began, cpu = time.perf_counter(), time.process_time()
        for n in range(COMMITS):
            async with db.transaction():
                await db.execute(INSERT_ASYNCPG, *_rows(n * ROWS))
        commits = COMMITS / (time.perf_counter() - began)
        commit_cpu = (time.process_time() - cpu) / COMMITS * 1e6
        await db.execute(f"ANALYZE {TABLE}")
        began, cpu = time.perf_counter(), time.process_time()
        for _ in range(PAGES):
            await db.fetch(PAGE)
        pages = PAGES / (time.perf_counter() - began)
        page_cpu = (time.process_time() - cpu) / PAGES * 1e6
        await db.execute(f"DROP TABLE {TABLE}")
    finally:
        await db.close()
    return {
        "commits/s": commits,
        "client CPU us/commit": commit_cpu,
        "pages/s": pages,
        "client CPU us/page": page_cpu,
    }


async def with_psycopg(dsn: str) -> dict[str, float]:
    import psycopg

    db = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    try:
        await db.execute(CREATE)
        began, cpu = time.perf_counter(), time.process_time()
        for n in range(COMMITS):
            async with db.transaction():
                await db.execute(INSERT_PSYCOPG, _rows(n * ROWS))
        commits = COMMITS / (time.perf_counter() - began)
        commit_cpu = (time.process_time() - cpu) / COMMITS * 1e6
        await db.execute(f"ANALYZE {TABLE}")
        began, cpu = time.perf_counter(), time.process_time()
        for _ in range(PAGES):
            cur = await db.execute(PAGE)
            await cur.fetchall()
        pages = PAGES / (time.perf_counter() - began)
        page_cpu = (time.process_time() - cpu) / PAGES * 1e6
        await db.execute(f"DROP TABLE {TABLE}")
    finally:
        await db.close()
    return {
        "commits/s": commits,
        "client CPU us/commit": commit_cpu,
        "pages/s": pages,
        "client CPU us/page": page_cpu,
    }


def main() -> int:
    dsn = sys.argv[1] if len(sys.argv) > 1 else DSN
    results: dict[str, Any] = {"asyncpg": asyncio.run(with_asyncpg(dsn))}
    try:
        import psycopg  # noqa: F401
    except ImportError:
        results["psycopg"] = "not installed"
    else:
        results["psycopg"] = asyncio.run(with_psycopg(dsn))
    for name, figures in results.items():
        if isinstance(figures, dict):
            shown = ", ".join(f"{k} {v:,.0f}" for k, v in figures.items())
        else:
            shown = figures
        print(f"{name}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
