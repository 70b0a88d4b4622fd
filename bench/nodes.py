"""`python -m bench.nodes [--nodes N] [--seconds S] [--nats URL] [DSN]`: servers sharing one
PostgreSQL schema and one NATS prefix, each a `chinwag serve` process on 127.0.0.1.

Two loads, each run against N nodes and against one node with the same store and no bus:

- **writes**: 21 senders spread over the nodes, each alone in its room, 50 messages in
  flight each: durable messages per second (a message counts when its echo, which leaves
  only after its commit, is back), echo latency, and the CPU of all server processes.
- **fan-out**: one room, one sender on the first node at a fixed rate, 30 receivers spread
  over the nodes (all on the one node for the reference): latency from send to receipt for
  receivers on the sender's node and on the others, and server CPU per delivery (all the
  server processes' CPU over the window / deliveries).

The generator runs in this process (asyncio, JSON lines); PostgreSQL and NATS run on the same
machine and their CPU is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.proc import cpu_seconds
from bench.server import free_port

DSN = "postgresql://postgres@127.0.0.1:5432/test"
NATS = "nats://127.0.0.1:4222"


async def _execute(dsn: str, sql: str) -> None:
    import asyncpg

    db = await asyncpg.connect(dsn)
    try:
        await db.execute(sql)
    finally:
        await db.close()


class Nodes:
    def __init__(self, count: int, store: str, bus: str | None, log: Path) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        for _ in range(count):
            port = free_port()
            args = ["--port", str(port), "--store", store, "--data", ":memory:",
                    "--message-rate", "0", "--command-rate", "0", "--history-on-join", "0",
                    "--log-level", "WARNING", "--http-port", "0"]  # fmt: skip
            if bus:
                args += ["--bus", bus, "--bus-prefix", prefix]
            with log.open("ab") as sink:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "chinwag", "serve", *args],
                        stdout=subprocess.DEVNULL,
                        stderr=sink,
                    )
                )
            self.ports.append(port)

    async def up(self) -> None:
        for proc, port in zip(self.procs, self.ports, strict=True):
            for _ in range(400):
                if proc.poll() is not None:
                    raise RuntimeError(f"a node exited: {proc.returncode}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class Client:
    def __init__(self, name: str) -> None:
        self.name = name
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter
        self.latencies: list[float] = []  # ms, chats received (not own)
        self.echoes = 0
        self.inflight = asyncio.Semaphore(0)

    async def join(self, port: int, room: str | None) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        self.send({"type": "join", "username": self.name})
        while orjson.loads(await self.reader.readline())["type"] != "welcome":
            pass
        if room:
            self.send({"type": "join_room", "room": room})
            while orjson.loads(await self.reader.readline())["type"] != "join_room":
                pass

    def send(self, obj: dict[str, Any]) -> None:
        self.writer.write(orjson.dumps(obj) + b"\n")

    async def read(self, counting: list[bool]) -> None:
        while line := await self.reader.readline():
            obj = orjson.loads(line)
            if obj.get("type") != "chat" or not counting[0]:
                if obj.get("type") == "chat" and obj["username"] == self.name:
                    self.inflight.release()
                continue
            if obj["username"] == self.name:
                self.echoes += 1
                self.inflight.release()
                self.latencies.append((time.monotonic_ns() - int(obj["message"])) / 1e6)
            else:
                self.latencies.append((time.monotonic_ns() - int(obj["message"])) / 1e6)

    async def flood(self, room: str, window: int, stop: asyncio.Event) -> None:
        for _ in range(window):
            self.inflight.release()
        while not stop.is_set():
            await self.inflight.acquire()
            self.send({"type": "chat", "room": room, "message": str(time.monotonic_ns())})
            await self.writer.drain()

    async def steady(self, room: str, rate: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.send({"type": "chat", "room": room, "message": str(time.monotonic_ns())})
            await asyncio.sleep(1 / rate)


def _pcts(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    values = sorted(values)
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.99))]


async def writes(nodes: Nodes, seconds: float) -> dict[str, Any]:
    senders = [Client(f"w{i}") for i in range(21)]
    for i, client in enumerate(senders):
        await client.join(nodes.ports[i % len(nodes.ports)], f"w{i}")
    counting = [False]
    readers = [asyncio.create_task(c.read(counting)) for c in senders]
    stop = asyncio.Event()
    floods = [asyncio.create_task(c.flood(f"w{i}", 50, stop)) for i, c in enumerate(senders)]
    await asyncio.sleep(1.0)  # warm-up
    counting[0] = True
    cpu0, began = nodes.cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    counting[0] = False
    cpu, took = nodes.cpu() - cpu0, time.monotonic() - began
    stop.set()
    for task in (*floods, *readers):
        task.cancel()
    echoes = sum(c.echoes for c in senders)
    p50, p99 = _pcts([x for c in senders for x in c.latencies])
    for c in senders:
        c.writer.close()
    return {"durable_msg_s": round(echoes / took), "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1), "server_cpu_pct": round(100 * cpu / took, 1),
            "cpu_us_per_msg": round(1e6 * cpu / max(1, echoes), 1)}  # fmt: skip


async def fanout(nodes: Nodes, seconds: float, rate: float) -> dict[str, Any]:
    count = len(nodes.ports)
    receivers = [Client(f"f{i}") for i in range(30)]
    homes = [i % count for i in range(30)]
    for client, home in zip(receivers, homes, strict=True):
        await client.join(nodes.ports[home], None)
    sender = Client("sender")
    await sender.join(nodes.ports[0], None)
    counting = [False]
    tasks = [asyncio.create_task(c.read(counting)) for c in (*receivers, sender)]
    stop = asyncio.Event()
    tasks.append(asyncio.create_task(sender.steady("general", rate, stop)))
    await asyncio.sleep(1.0)
    counting[0] = True
    cpu0, began = nodes.cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    counting[0] = False
    cpu, took = nodes.cpu() - cpu0, time.monotonic() - began
    stop.set()
    for task in tasks:
        task.cancel()
    local = [x for c, h in zip(receivers, homes, strict=True) if h == 0 for x in c.latencies]
    remote = [x for c, h in zip(receivers, homes, strict=True) if h != 0 for x in c.latencies]
    deliveries = len(local) + len(remote)
    for c in (*receivers, sender):
        c.writer.close()
    out: dict[str, Any] = {
        "deliveries_s": round(deliveries / took),
        "server_cpu_pct": round(100 * cpu / took, 1),
        "cpu_us_per_delivery": round(1e6 * cpu / max(1, deliveries), 1),
    }
    out["local_p50_ms"], out["local_p99_ms"] = (round(v, 2) for v in _pcts(local))
    if remote:
        out["remote_p50_ms"], out["remote_p99_ms"] = (round(v, 2) for v in _pcts(remote))
    return out


async def one(count: int, dsn: str, bus: str | None, seconds: float, rate: float) -> None:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    await _execute(dsn, f'CREATE SCHEMA "{schema}"')
    url = f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "nodes.log"
        nodes = Nodes(count, url, bus, log)
        try:
            await nodes.up()
            result: dict[str, Any] = {"nodes": count, "bus": bool(bus)}
            result["writes"] = await writes(nodes, seconds)
            result["fanout"] = await fanout(nodes, seconds, rate)
        finally:
            nodes.stop()
            await _execute(dsn, f'DROP SCHEMA "{schema}" CASCADE')
            text = log.read_text(errors="replace")
            if any(p.returncode not in (0, -15) for p in nodes.procs):
                print(text[-2000:], file=sys.stderr)
        result["warnings"] = text.count(" - WARNING - ") + text.count(" - ERROR - ")
    print(json.dumps(result), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.nodes", description=__doc__)
    p.add_argument("dsn", nargs="?", default=DSN)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--nats", default=NATS)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--rate", type=float, default=100.0, help="fan-out messages per second")
    p.add_argument("--runs", type=int, default=2)
    args = p.parse_args()
    for _ in range(args.runs):
        asyncio.run(one(1, args.dsn, None, args.seconds, args.rate))
        asyncio.run(one(args.nodes, args.dsn, args.nats, args.seconds, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
