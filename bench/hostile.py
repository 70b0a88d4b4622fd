"""The hostile-client harness: `python -m bench.hostile [--seconds S] [--attack a,b]`.

While 200 honest clients chat in `general` (10 of them say something every 0.5 s, everyone
pings every 0.5 s), each attack runs for a bounded time from its own process against the real
server (`chinwag serve` with every default defence on; loopback is not exempt from the
per-address limits here, since the attackers come from it). Per attack: the honest clients'
ping round trips (p50, p99, max), messages lost (an acknowledged message some honest client
never received), honest clients dropped, and the server's peak RSS and CPU. A benchmark,
not a test: docs/performance.md keeps the figures.

The server's data is seeded first: `general` holds 20,000 messages (so searches have work
to do) and `big` holds twenty 60 KB messages (so joining it means a 1.2 MB replay).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from bench.proc import cpu_seconds, rss_bytes
from bench.server import HOST, ServerProcess

HONEST = 200
SENDERS = 10
PERIOD = 0.5  # seconds between an honest client's pings, and a sender's messages
WORDS = [f"w{i}" for i in range(200)]  # the vocabulary of the seeded messages


# --------------------------------------------------------------------------- seeding


async def seed(path: Path) -> None:
    """Fill a data folder through the store itself, before the server starts."""
    from chinwag.protocol.events import ChatMessage
    from chinwag.storage.base import RoomRecord
    from chinwag.storage.sqlite import SQLiteStore

    rng = random.Random(1)
    store = SQLiteStore(path / "chinwag.sqlite3")
    await store.open()
    store.save_room(RoomRecord("general"))
    store.save_room(RoomRecord("big"))
    stamp = time.time() - 3600
    for i in range(20_000):
        text = " ".join(rng.choices(WORDS, k=12))
        store.append(ChatMessage(store.next_id(), "general", f"old{i % 50}", text, stamp + i / 10))
    for i in range(20):
        store.append(ChatMessage(store.next_id(), "big", "old0", f"{i} " + "x" * 60_000, stamp))
    await store.close()


# --------------------------------------------------------------------------- the honest side


class Honest:
    """200 clients in one process: pings and chat, measured per phase."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.rtts: list[float] = []
        self.sent: dict[str, int] = {}  # acknowledged message -> time it was acknowledged
        self.received: dict[str, int] = {}  # message -> honest clients that received it
        self.dropped = 0
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for number in range(HONEST):
            reader, writer = await asyncio.open_connection(HOST, self.port, limit=1 << 22)
            writer.write(b'{"type":"join","username":"honest%d"}\n' % number)
            self.tasks.append(asyncio.create_task(self._client(number, reader, writer)))
            if number % 20 == 0:
                await asyncio.sleep(0)

    async def _client(
        self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        pings: dict[str, float] = {}
        ticker = asyncio.create_task(self._tick(number, writer, pings))
        try:
            while True:
                line = await reader.readline()
                if not line:
                    self.dropped += 1
                    return
                if b'"type":"pong"' in line:
                    token = orjson.loads(line).get("token")
                    began = pings.pop(token, None)
                    if began is not None:
                        self.rtts.append(time.perf_counter() - began)
                elif b'"type":"chat"' in line:
                    text = orjson.loads(line)["message"]
                    if text.startswith("hm "):
                        self.received[text] = self.received.get(text, 0) + 1
                        if text.startswith(f"hm {number}:"):
                            self.sent[text] = 1
                elif b'"type":"ping"' in line:
                    writer.write(b'{"type":"pong"}\n')
        except (ConnectionError, asyncio.IncompleteReadError):
            self.dropped += 1
        finally:
            ticker.cancel()

    async def _tick(
        self, number: int, writer: asyncio.StreamWriter, pings: dict[str, float]
    ) -> None:
        # On a fixed schedule, each client at its own offset: sleeping PERIOD after each
        # tick would let the clients' ticks drift into bursts, and measure the generator.
        loop = asyncio.get_running_loop()
        start = loop.time() + PERIOD * number / HONEST
        sequence = 0
        while True:
            await asyncio.sleep(max(0.0, start + sequence * PERIOD - loop.time()))
            sequence += 1
            token = f"p{sequence}"
            pings[token] = time.perf_counter()
            lines = [b'{"type":"ping","token":"%s"}\n' % token.encode()]
            if number < SENDERS:
                text = f"hm {number}:{sequence}"
                lines.append(orjson.dumps({"type": "chat", "message": text}) + b"\n")
            writer.write(b"".join(lines))

    def reset(self) -> None:
        self.rtts, self.sent, self.received, self.dropped = [], {}, {}, 0

    def report(self) -> dict[str, Any]:
        rtts = sorted(self.rtts)
        lost = sum(HONEST - self.received.get(text, 0) for text in self.sent)
        q = statistics.quantiles(rtts, n=100) if len(rtts) > 1 else [0.0] * 99
        return {
            "pings": len(rtts),
            "ping_p50_ms": round(q[49] * 1000, 2),
            "ping_p99_ms": round(q[98] * 1000, 2),
            "ping_max_ms": round((rtts[-1] if rtts else 0.0) * 1000, 2),
            "messages": len(self.sent),
            "lost": lost,
            "honest_dropped": self.dropped,
        }


def honest_main(port: int, pipe: Connection) -> None:
    import uvloop

    async def main() -> None:
        honest = Honest(port)
        await honest.start()
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command == "reset":
                honest.reset()
                pipe.send("ok")
            elif command == "report":
                await asyncio.sleep(1.0)  # what is in flight arrives
                pipe.send(honest.report())
            else:
                return

    uvloop.run(main())


# --------------------------------------------------------------------------- the attacks


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, port, limit=1 << 22)


async def _drain_quietly(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(1 << 16):
            pass
    except ConnectionError:
        pass


async def _join(
    port: int, name: str, **extra: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await _connect(port)
    writer.write(orjson.dumps({"type": "join", "username": name, **extra}) + b"\n")
    return reader, writer


async def attack_search(port: int, until: float, stats: dict[str, int]) -> None:
    """Twenty clients ask for the costliest searches they may, one after the other."""

    async def searcher(number: int) -> None:
        reader, writer = await _join(port, f"seeker{number}")
        rng = random.Random(number)
        while time.monotonic() < until:
            query = " ".join(rng.choices(WORDS, k=16))
            writer.write(
                orjson.dumps({"type": "search", "room": "general", "query": query}) + b"\n"
            )
            while True:
                line = await reader.readline()
                if not line:
                    return
                if b'"type":"search"' in line or b'"type":"error"' in line:
                    key = "too_expensive" if b"too_expensive" in line else "answered"
                    stats[key] = stats.get(key, 0) + 1
                    break
        writer.close()

    await asyncio.gather(*(searcher(n) for n in range(20)), return_exceptions=True)


async def attack_replay(port: int, until: float, stats: dict[str, int]) -> None:
    """Clients join `big` (a 1.2 MB replay) and read nothing, over and over."""

    async def joiner(number: int) -> None:
        round_ = 0
        while time.monotonic() < until:
            round_ += 1
            _, writer = await _join(port, f"big{number}x{round_}", rooms=["big"])
            writer.transport.pause_reading()  # type: ignore[attr-defined]
            await asyncio.sleep(0.5)
            writer.close()
            stats["joins"] = stats.get("joins", 0) + 1

    await asyncio.gather(*(joiner(n) for n in range(30)), return_exceptions=True)


async def attack_rooms(port: int, until: float, stats: dict[str, int]) -> None:
    """Twenty-five clients create rooms as fast as they are answered."""

    async def creator(number: int) -> None:
        reader, writer = await _join(port, f"mason{number}")
        count = 0
        while time.monotonic() < until:
            count += 1
            writer.write(b'{"type":"join_room","room":"m%dx%d"}\n' % (number, count))
            while True:
                line = await reader.readline()
                if not line:
                    return
                if b'"type":"join_room"' in line:
                    stats["created"] = stats.get("created", 0) + 1
                    break
                if b'"type":"error"' in line:
                    stats["refused"] = stats.get("refused", 0) + 1
                    break
        writer.close()

    await asyncio.gather(*(creator(n) for n in range(25)), return_exceptions=True)


async def attack_slow(port: int, until: float, stats: dict[str, int]) -> None:
    """Fifty clients join the busy room and stop reading."""
    writers = []
    for number in range(50):
        reader, writer = await _join(port, f"sloth{number}")
        writer.transport.pause_reading()  # type: ignore[attr-defined]
        writers.append((reader, writer))
    stats["joined"] = len(writers)
    await asyncio.sleep(max(0.0, until - time.monotonic()))

    async def finish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.resume_reading()  # type: ignore[attr-defined]
        try:  # what reached it before the server gave up on it, then the end
            await asyncio.wait_for(_drain_quietly(reader), 3)
            stats["cut_by_server"] = stats.get("cut_by_server", 0) + 1
        except TimeoutError:
            stats["still_open"] = stats.get("still_open", 0) + 1
        writer.close()

    await asyncio.gather(*(finish(r, w) for r, w in writers))


async def attack_connections(port: int, until: float, stats: dict[str, int]) -> None:
    """A thousand sockets that never say a word."""
    writers = []
    for _ in range(1000):
        try:
            _, writer = await _connect(port)
            writers.append(writer)
        except OSError:
            stats["refused"] = stats.get("refused", 0) + 1
    stats["opened"] = len(writers)
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    for writer in writers:
        writer.close()


async def attack_garbage(port: int, until: float, stats: dict[str, int]) -> None:
    """Malformed input: bad JSON, wrong types, invalid UTF-8, oversized lines, NULs."""
    junk = [
        b"{not json\n",
        b'{"type": 7}\n',
        b'{"type": "chat", "message": ["x"]}\n',
        b"\xff\xfe\xfd\n",
        b"x" * 100_000 + b"\n",
        b'{"type":"history","after":18446744073709551615}\n',
        b"\x00" * 1000 + b"\n",
    ]

    async def sender(number: int) -> None:
        reader, writer = await _join(port, f"junk{number}")
        drain = asyncio.create_task(_drain_quietly(reader))
        while time.monotonic() < until:
            writer.write(random.choice(junk))
            stats["lines"] = stats.get("lines", 0) + 1
            await writer.drain()
            await asyncio.sleep(0.001)
        writer.close()
        drain.cancel()

    await asyncio.gather(*(sender(n) for n in range(20)), return_exceptions=True)


async def attack_commands(port: int, until: float, stats: dict[str, int]) -> None:
    """Twenty clients send pings, user lists and room lists as fast as they can write."""
    burst = b'{"type":"ping"}\n{"type":"list_users"}\n{"type":"rooms"}\n' * 50

    async def sender(number: int) -> None:
        reader, writer = await _join(port, f"noisy{number}")
        drain = asyncio.create_task(_drain_quietly(reader))
        while time.monotonic() < until:
            writer.write(burst)
            stats["commands"] = stats.get("commands", 0) + 150
            await writer.drain()
        writer.close()
        drain.cancel()

    await asyncio.gather(*(sender(n) for n in range(20)), return_exceptions=True)


async def attack_chat(port: int, until: float, stats: dict[str, int]) -> None:
    """Twenty clients flood the busy room with messages (the rate limit answers)."""

    async def sender(number: int) -> None:
        reader, writer = await _join(port, f"loud{number}")
        drain = asyncio.create_task(_drain_quietly(reader))
        while time.monotonic() < until:
            writer.write(b'{"type":"chat","message":"spam spam spam"}\n' * 20)
            stats["messages"] = stats.get("messages", 0) + 20
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.close()
        drain.cancel()

    await asyncio.gather(*(sender(n) for n in range(20)), return_exceptions=True)


Attack = Callable[[int, float, dict[str, int]], Awaitable[None]]
ATTACKS: dict[str, Attack | None] = {
    "none": None,
    "search": attack_search,
    "replay": attack_replay,
    "rooms": attack_rooms,
    "slow": attack_slow,
    "connections": attack_connections,
    "garbage": attack_garbage,
    "commands": attack_commands,
    "chat": attack_chat,
}


def attacker_main(port: int, name: str, seconds: float, pipe: Connection) -> None:
    import uvloop

    async def main() -> None:
        stats: dict[str, int] = {}
        attack = ATTACKS[name]
        until = time.monotonic() + seconds
        if attack is not None:
            await attack(port, until, stats)
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        pipe.send(stats)

    uvloop.run(main())


# --------------------------------------------------------------------------- the run


def run(names: Sequence[str], seconds: float) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chinwag-hostile-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        asyncio.run(seed(data))
        extra = ("--limit-exempt", " ", "--max-connections", "1500")
        with ServerProcess(str(data), Path(tmp) / "server.log", extra, limits=True) as server:
            mine, theirs = ctx.Pipe()
            honest = ctx.Process(target=honest_main, args=(server.port, theirs), daemon=True)
            honest.start()
            time.sleep(3.0)  # everyone joined and talking
            try:
                for name in names:
                    mine.send("reset")
                    mine.recv()
                    a_mine, a_theirs = ctx.Pipe()
                    attacker = ctx.Process(
                        target=attacker_main, args=(server.port, name, seconds, a_theirs)
                    )
                    cpu0, peak, began = cpu_seconds(server.pid), 0, time.monotonic()
                    attacker.start()
                    while attacker.is_alive() and time.monotonic() < began + seconds + 30:
                        peak = max(peak, rss_bytes(server.pid))
                        time.sleep(0.1)
                    stats = a_mine.recv() if a_mine.poll(5) else {}
                    attacker.join(5)
                    elapsed = time.monotonic() - began
                    cpu = cpu_seconds(server.pid) - cpu0
                    mine.send("report")
                    report = mine.recv()
                    row = {
                        "attack": name,
                        **report,
                        "server_rss_peak_mb": round(peak / 2**20, 1),
                        "server_cpu_pct": round(100 * cpu / elapsed, 1),
                        "attacker": stats,
                    }
                    print(json.dumps(row), flush=True)
                    rows.append(row)
            finally:
                mine.send("stop")
                honest.join(10)
                if honest.is_alive():
                    honest.kill()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| attack | honest ping p50 / p99 / max ms | messages / lost | honest dropped |"
        " server RSS peak | server CPU | what the attack got |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        got = ", ".join(f"{k} {v}" for k, v in sorted(r["attacker"].items())) or "-"
        lines.append(
            f"| {r['attack']} | {r['ping_p50_ms']} / {r['ping_p99_ms']} / {r['ping_max_ms']} |"
            f" {r['messages']} / {r['lost']} | {r['honest_dropped']} |"
            f" {r['server_rss_peak_mb']} MB | {r['server_cpu_pct']} % | {got} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    p.add_argument("--seconds", type=float, default=5.0, help="each attack's duration")
    p.add_argument("--attack", default=",".join(ATTACKS), help="comma-separated")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.attack.split(",") if n.strip()]
    unknown = [n for n in names if n not in ATTACKS]
    if unknown:
        print(
            f"unknown attacks: {', '.join(unknown)}; known: {', '.join(ATTACKS)}", file=sys.stderr
        )
        return 2
    rows = run(names, args.seconds)
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
