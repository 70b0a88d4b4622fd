"""The parent side of a load run: start the server, drive the generator processes, report.

Phases, each bounded in time: connect and join every client; (optionally) wait until
every join notice has arrived; send for `duration`; drain until every expected delivery
has arrived; close. Server CPU and RSS are read from /proc at the phase edges.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from bench.proc import tree_cpu_seconds as cpu_seconds
from bench.proc import tree_rss_bytes as rss_bytes
from bench.profile import Profiler
from bench.server import C_SERVERS, ServerProcess, free_port
from bench.stats import merge, percentiles_ms
from bench.worker import ClientSpec, WorkerSpec, worker_main

REPLY_TIMEOUT = 180.0  # any one phase of a worker
DRAIN_TIMEOUT = 15.0
SETTLE = 0.3  # seconds between the end of joins and the RSS reading


@dataclass(frozen=True, slots=True)
class LoadSpec:
    name: str
    clients: int
    rooms: int = 1  # 1: everyone in `general`; K > 1: client i also joins room r{i % K}
    senders: int = 0
    duration: float = 0.0
    window: int = 0  # > 0: as fast as this many unacknowledged messages per sender allow
    rate: float = 0.0  # else: this many messages per second per sender
    procs: int = 1  # generator processes
    wait_notices: bool = False  # wait for every user_joined notice before measuring
    data: str = "disk"  # "disk" (a temporary --data folder) or ":memory:"
    server_args: tuple[str, ...] = ()
    websocket: bool = False  # the clients connect to /ws on the web port (BW)
    dialect: str = "native"  # "irc": the same load as IRC clients
    server: str = "chinwag"  # "ngircd", "inspircd": Debian's, for comparison (IRC only)
    # PostgreSQL (a fresh schema per run) and NATS (a prefix of its own): BENCH_POSTGRES,
    # BENCH_NATS, else the local ones CI has. `workers` > 1 needs them (--workers N).
    shared: bool = False
    workers: int = 1


def room_of(spec: LoadSpec, index: int) -> str:
    return "general" if spec.rooms <= 1 else f"r{index % spec.rooms}"


def plan(spec: LoadSpec) -> list[list[ClientSpec]]:
    """Clients dealt round-robin to processes; senders are the first `senders` clients."""
    shards: list[list[ClientSpec]] = [[] for _ in range(spec.procs)]
    for i in range(spec.clients):
        sender = i if i < spec.senders else -1
        shards[i % spec.procs].append(ClientSpec(f"b{i}", room_of(spec, i), sender))
    return shards


def expected_notices(spec: LoadSpec) -> int:
    """user_joined notices the clients receive when all join (each goes to earlier members);
    an IRC client also counts its own JOIN of each channel."""
    n = spec.clients
    total = n * (n - 1) // 2  # general
    if spec.dialect == "irc":
        total += n * (2 if spec.rooms > 1 else 1)
    if spec.rooms > 1:
        for r in range(spec.rooms):
            m = len(range(r, n, spec.rooms))
            total += m * (m - 1) // 2
    return total


class Generators:
    """The generator processes and their pipes."""

    def __init__(
        self,
        port: int,
        shards: list[list[ClientSpec]],
        window: int = 0,
        rate: float = 0.0,
        websocket: bool = False,
        dialect: str = "native",
        server: str = "chinwag",
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[BaseProcess] = []
        for shard in shards:
            mine, theirs = ctx.Pipe()
            wspec = WorkerSpec(
                port,
                tuple(shard),
                window,
                rate,
                websocket=websocket,
                dialect=dialect,
                server=server,
            )
            proc = ctx.Process(target=worker_main, args=(wspec, theirs), daemon=True)
            proc.start()
            theirs.close()
            self.pipes.append(mine)
            self.procs.append(proc)

    def ask(self, commands: list[dict[str, Any]], timeout: float = REPLY_TIMEOUT) -> list[Any]:
        for pipe, command in zip(self.pipes, commands, strict=True):
            pipe.send(command)
        replies = []
        deadline = time.monotonic() + timeout
        for pipe in self.pipes:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(
                    f"a generator did not answer {commands[0]['cmd']} in {timeout} s"
                )
            replies.append(pipe.recv())
        return replies

    def ask_all(self, command: dict[str, Any], timeout: float = REPLY_TIMEOUT) -> list[Any]:
        return self.ask([command] * len(self.pipes), timeout)

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send({"cmd": "close"})
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for pipe in self.pipes:
            pipe.close()


class Side(Protocol):
    """Something done beside a scenario (bench/logins.py: a burst of logins)."""

    def prepare(self, port: int) -> None:
        """Before the clients connect."""

    def during(self, port: int) -> dict[str, Any]:
        """In a thread, a third of the way into the sending; its figures join the report."""


POSTGRES = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NATS = os.environ.get("BENCH_NATS", "nats://127.0.0.1:4222")


@contextlib.contextmanager
def shared_flags(spec: LoadSpec) -> Iterator[tuple[str, ...]]:
    """The server flags of a store and bus shared by workers (a schema made and dropped)."""
    if not spec.shared:
        yield ("--workers", str(spec.workers)) if spec.workers > 1 else ()
        return
    from bench.stores import execute

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    execute(POSTGRES, f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}search_path={schema}"
        yield ("--store", url, "--bus", NATS, "--bus-prefix", schema.replace("_", "-"),
               "--workers", str(spec.workers))  # fmt: skip
    finally:
        execute(POSTGRES, f'DROP SCHEMA "{schema}" CASCADE')


def run_load(
    spec: LoadSpec, workdir: Path | None = None, side: Side | None = None
) -> dict[str, Any]:
    """One run of one scenario; returns its report (a flat dict)."""
    with (
        tempfile.TemporaryDirectory(prefix="chinwag-bench-", dir=workdir) as tmp,
        shared_flags(spec) as shared,
    ):
        data = spec.data if spec.data == ":memory:" else str(Path(tmp) / "data")
        args = (*spec.server_args, *shared)
        web_port = free_port() if spec.websocket else 0
        if spec.websocket:
            args = (*args, "--http-port", str(web_port))
        kind = C_SERVERS[spec.server][0] if spec.server in C_SERVERS else ServerProcess
        with kind(data, Path(tmp) / "server.log", args) as server:
            if side is not None:
                side.prepare(server.port)
            port = web_port if spec.websocket else server.port
            gens = Generators(
                port, plan(spec), spec.window, spec.rate, spec.websocket, spec.dialect, spec.server
            )
            try:
                report = _drive(
                    spec, server.pid, gens, None if side is None else (server.port, side)
                )
            finally:
                gens.close()
            if server.proc is not None and server.proc.poll() is not None:
                report["server_exit"] = server.proc.returncode
            log = (Path(tmp) / "server.log").read_text(errors="replace")
            report["server_warnings"] = log.count(" - WARNING - ") + log.count(" - ERROR - ")
    return report


def _drive(
    spec: LoadSpec, pid: int, gens: Generators, side: tuple[int, Side] | None = None
) -> dict[str, Any]:
    report: dict[str, Any] = {"scenario": spec.name, "clients": spec.clients, "rooms": spec.rooms,
                              "senders": spec.senders, "procs": spec.procs,
                              "workers": spec.workers, "shared": spec.shared}  # fmt: skip
    gens.ask_all({"cmd": "counts"})  # every generator is up
    rss0, cpu0 = rss_bytes(pid), cpu_seconds(pid)
    profiler = Profiler(pid, f"{spec.name}-join") if not spec.senders else None
    began = time.monotonic()
    joined = gens.ask_all({"cmd": "connect", "timeout": REPLY_TIMEOUT - 5})
    report["connect_s"] = round(time.monotonic() - began, 3)
    report["connected"] = sum(r["connected"] for r in joined)
    report["connect_failed"] = sum(r["failed"] for r in joined)
    report["connect_errors"] = [e for r in joined for e in r["errors"]][:3]
    report["gen_connect_cpu_s"] = round(sum(r["cpu"] for r in joined), 3)
    if spec.wait_notices:
        want = expected_notices(spec)
        deadline = time.monotonic() + REPLY_TIMEOUT
        got = 0
        while time.monotonic() < deadline:
            got = sum(r["joined"] for r in gens.ask_all({"cmd": "counts"}))
            if got >= want:
                break
            time.sleep(0.05)
        report["notices_expected"], report["notices_received"] = want, got
        report["quiet_s"] = round(time.monotonic() - began, 3)
    report["server_join_cpu_s"] = round(cpu_seconds(pid) - cpu0, 3)
    if profiler is not None:
        profiler.stop()
    time.sleep(SETTLE)
    rss1 = rss_bytes(pid)
    report["server_rss_mb"] = round(rss1 / 2**20, 1)
    report["rss_per_conn_kb"] = round((rss1 - rss0) / max(1, report["connected"]) / 1024, 2)
    if spec.senders and spec.duration > 0:
        report.update(_send(spec, pid, gens, side))
    return report


def _send(
    spec: LoadSpec, pid: int, gens: Generators, side: tuple[int, Side] | None = None
) -> dict[str, Any]:
    start = time.monotonic() + 0.3
    for pipe in gens.pipes:
        pipe.send({"cmd": "send", "start": start, "duration": spec.duration})
    beside: dict[str, Any] = {}
    thread = None
    if side is not None:
        port, work = side

        def run_side() -> None:
            time.sleep(max(0.0, start + spec.duration / 3 - time.monotonic()))
            beside.update(work.during(port))

        thread = threading.Thread(target=run_side, daemon=True)
        thread.start()
    time.sleep(max(0.0, start - time.monotonic()))
    profiler = Profiler(pid, spec.name)
    cpu0 = cpu_seconds(pid)
    time.sleep(max(0.0, start + spec.duration - time.monotonic()))
    cpu1 = cpu_seconds(pid)
    profiler.stop()
    rss = rss_bytes(pid)
    sent_replies = []
    for pipe in gens.pipes:
        if not pipe.poll(REPLY_TIMEOUT):
            raise TimeoutError("a generator did not finish sending")
        sent_replies.append(pipe.recv())
    sent: dict[str, int] = {}
    for reply in sent_replies:
        for room, count in reply["sent"].items():
            sent[room] = sent.get(room, 0) + count
    members = [{} for _ in gens.pipes]  # type: list[dict[str, int]]
    for index, shard in enumerate(plan(spec)):
        for client in shard:
            members[index][client.room] = members[index].get(client.room, 0) + 1
    expected = [sum(sent.get(room, 0) * m for room, m in mine.items()) for mine in members]
    if spec.server != "chinwag":  # no echo-message: a sender never gets its own messages
        expected = [
            e - sum(r["sent"].values()) for e, r in zip(expected, sent_replies, strict=True)
        ]
    drained = gens.ask(
        [{"cmd": "drain", "expected": e, "timeout": DRAIN_TIMEOUT} for e in expected]
    )
    received = sum(r["received"] for r in drained)
    window_deliveries = sum(r["window_chat"] for r in sent_replies)
    server_cpu = cpu1 - cpu0
    hist = merge(r["latency"] for r in drained)
    out: dict[str, Any] = {
        "messages_sent": sum(sent.values()),
        "expected": sum(expected),
        "received": received,
        "loss": sum(expected) - received,
        "deliveries_per_s": round(window_deliveries / spec.duration),
        "server_cpu_pct": round(100 * server_cpu / spec.duration, 1),
        "server_cpu_s_per_m": round(server_cpu / max(1, window_deliveries) * 1e6, 4),
        "server_rss_send_mb": round(rss / 2**20, 1),
        "gen_cpu_pct": round(100 * sum(r["cpu"] for r in sent_replies) / spec.duration, 1),
    }
    for key, value in percentiles_ms(hist, (50, 95, 99)).items():
        out[f"{key}_ms"] = value
    if thread is not None:
        thread.join(REPLY_TIMEOUT)
        out.update(beside)
    return out
