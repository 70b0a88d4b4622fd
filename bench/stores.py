"""`python -m bench.stores [--runs N] [--seconds S] [DSN]`: durable messages per second with
the SQLite store against the PostgreSQL store, in one sitting, alternating: scenario D's
write part (20 senders, each alone in its room, 50 messages in flight each; a message counts
once its echo, which leaves only after the commit, has come back). PostgreSQL runs on the same
machine and its CPU is not in the server's figure."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from dataclasses import replace
from typing import Any

from bench.load import LoadSpec, run_load

DSN = "postgresql://postgres@127.0.0.1:5432/test"
SPEC = LoadSpec("D-writes", clients=20, rooms=20, senders=20, duration=10.0, window=50)


async def _execute(dsn: str, sql: str) -> None:
    import asyncpg

    db = await asyncpg.connect(dsn)
    try:
        await db.execute(sql)
    finally:
        await db.close()


def execute(dsn: str, sql: str) -> None:
    """Run one statement on its own connection (from code without a loop)."""
    asyncio.run(_execute(dsn, sql))


def one_run(store: str, dsn: str, seconds: float) -> dict[str, Any]:
    spec = replace(SPEC, duration=seconds)
    if store == "sqlite":
        report = run_load(spec)
    else:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_execute(dsn, f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"
            report = run_load(replace(spec, server_args=("--store", url)))
        finally:
            asyncio.run(_execute(dsn, f'DROP SCHEMA "{schema}" CASCADE'))
    keys = ("deliveries_per_s", "loss", "p50_ms", "p99_ms", "server_cpu_pct", "server_warnings")
    return {"store": store, **{k: report.get(k) for k in keys}}


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stores", description=__doc__)
    p.add_argument("dsn", nargs="?", default=DSN)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    for _ in range(args.runs):
        for store in ("sqlite", "postgres"):
            print(json.dumps(one_run(store, args.dsn, args.seconds)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
