"""Scenario D: history of a room holding 1,000,000 messages, and durable writes per second."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load import Generators, LoadSpec, run_load
from bench.server import ServerProcess
from bench.worker import ClientSpec
from chinwag.protocol.events import ChatMessage
from chinwag.storage.sqlite import SQLiteStore

ROOM = "big"
BATCH = 100_000


async def build(path: Path, messages: int) -> float:
    """Fill a fresh database through the store's own buffered append/commit; seconds taken."""
    began = time.perf_counter()
    store = SQLiteStore(path)
    await store.open()
    from chinwag.storage.base import RoomRecord

    store.save_room(RoomRecord(ROOM))
    stamp = time.time() - messages / 1000
    for i in range(1, messages + 1):
        store.append(
            ChatMessage(
                store.next_id(),
                ROOM,
                f"user{i % 97}",
                f"message number {i} of the big room",
                stamp + i / 1000,
            )
        )
        if i % BATCH == 0:
            await store.commit()
    await store.commit()
    await store.close()
    return time.perf_counter() - began


async def store_latency(path: Path, count: int, limit: int) -> list[float]:
    store = SQLiteStore(path)
    await store.open()
    try:
        seconds = []
        for _ in range(count):
            began = time.perf_counter()
            rows = await store.history(ROOM, limit=limit)
            seconds.append(time.perf_counter() - began)
            assert len(rows) == limit
        return seconds
    finally:
        await store.close()


def _ms(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000, 3)


def wire_latency(data: Path, log: Path, count: int, limit: int) -> dict[str, Any]:
    with ServerProcess(str(data), log) as server:
        gens = Generators(server.port, [[ClientSpec("reader", ROOM, -1)]])
        try:
            gens.ask_all({"cmd": "connect", "timeout": 60.0})
            reply = gens.ask_all({"cmd": "history", "room": ROOM, "limit": limit, "count": count})[
                0
            ]
        finally:
            gens.close()
    result: dict[str, Any] = reply
    return result


def run_history(
    messages: int, requests: int, write_seconds: float, runs: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Build the big room once, then measure `runs` times; one report per run."""
    reports: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-d-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        db = data / "chinwag.sqlite3"
        build_s = round(asyncio.run(build(db, messages)), 2)
        for _ in range(runs):
            report: dict[str, Any] = {"scenario": "D", "messages": messages, "limit": limit}
            report["build_s"] = build_s
            report["db_mb"] = round(db.stat().st_size / 2**20, 1)
            store = asyncio.run(store_latency(db, requests, limit))
            report["store_p50_ms"], report["store_p99_ms"] = _ms(store, 50), _ms(store, 99)
            wire = wire_latency(data, Path(tmp) / "server.log", requests, limit)
            report["wire_p50_ms"] = _ms(wire["seconds"], 50)
            report["wire_p99_ms"] = _ms(wire["seconds"], 99)
            report["wire_mean_ms"] = round(statistics.fmean(wire["seconds"]) * 1000, 3)
            report["reply_bytes"] = wire["reply_bytes"]
            writes = run_load(
                LoadSpec(
                    "D-writes", clients=20, rooms=20, senders=20, duration=write_seconds, window=50
                )
            )
            report["durable_writes_per_s"] = writes["deliveries_per_s"]
            report["writes_loss"] = writes["loss"]
            report["writes_p99_ms"] = writes["p99_ms"]
            report["writes_server_cpu_pct"] = writes["server_cpu_pct"]
            reports.append(report)
    return reports
