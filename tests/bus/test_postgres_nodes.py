"""Nodes as separate `chinwag serve` processes sharing one PostgreSQL schema and one NATS
subject prefix (black box: raw native clients on real sockets).

- three nodes, clients on each chatting in one room: every client receives the same
  messages in the same order;
- `kill -9` of a node in the middle of a burst, twenty times: its client joins another
  node with `since` and ends with exactly what the store holds (every echo included), each
  id once, in increasing order;
- the NATS server killed and started again in the middle of the chat: the nodes reconnect
  on their own and read what the bus lost from the store.

Clients here are the tests' raw `LineClient`: nothing drops a duplicate or sorts for us.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.bus.conftest import NATS_URL, listening, unique_prefix
from tests.bus.test_broker_restart import NATS_SERVER, Broker
from tests.helpers import (
    NOISE,
    TIMEOUT,
    LineClient,
    free_port,
    needs_module,
    needs_service,
    wait_for_port,
)
from tests.postgres_support import PG_URL, fresh_schema, pg_run

needs_module("nats", "nats-py is not installed (pip install -e '.[dev]')")


@pytest.fixture
def store_url() -> Iterator[str]:
    with fresh_schema() as schema:
        pg_run(f'CREATE SCHEMA "{schema}"')
        joiner = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{joiner}search_path={schema}"


class Node:
    """One `chinwag serve` process."""

    def __init__(self, store: str, bus: str, prefix: str, log: Path) -> None:
        self.args = ["--store", store, "--bus", bus, "--bus-prefix", prefix, "--data", ":memory:",
                     "--message-rate", "0", "--command-rate", "0"]  # fmt: skip
        self.log = log
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.port = free_port()
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chinwag", "serve", "--port", str(self.port), *self.args],
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        await wait_for_port(self.port, self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=20)


@contextlib.contextmanager
def killed_at_the_end(nodes: list[Node]) -> Iterator[None]:
    try:
        yield
    finally:
        for node in nodes:
            node.kill()


class Member:
    """A client that records every chat it receives (live and replayed), in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client: LineClient | None = None
        self.ids: list[int] = []
        self.echoed: list[int] = []  # ids of its own messages echoed to it
        self.reader: asyncio.Task[None] | None = None
        self.trace: list[tuple[int, int, bool]] = []  # (connection, id, history): for failures
        self.connections = 0
        self.resume: str | None = None

    async def join(self, port: int) -> None:
        """A guest: it joins again with `since` and its welcome's resume secret, which takes
        its name back at once even while the nodes still list it on the node that died."""
        self.client = await LineClient.connect(port)
        self.connections += 1
        extra: dict[str, Any] = {"since": self.ids[-1]} if self.ids else {}
        if self.resume is not None:
            extra["resume"] = self.resume
        welcome = await self.client.join(self.name, **extra)
        self.resume = welcome["resume"]
        self.reader = asyncio.create_task(self._read(self.client))

    async def _read(self, client: LineClient) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, EOFError):
            while True:
                line = await client.reader.readline()
                if not line:
                    return
                obj = orjson.loads(line)
                if obj.get("type") == "chat":
                    self.ids.append(obj["id"])
                    self.trace.append((self.connections, obj["id"], bool(obj.get("history"))))
                    if obj["username"] == self.name and not obj.get("history"):
                        self.echoed.append(obj["id"])

    async def say(self, text: str) -> None:
        assert self.client is not None
        with contextlib.suppress(ConnectionError, RuntimeError):  # its node was killed
            await self.client.send({"type": "chat", "message": text})

    async def gone(self) -> None:
        """Its node died: the reader has seen the end of the connection."""
        assert self.reader is not None
        async with asyncio.timeout(TIMEOUT):
            await self.reader

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.client is not None:
            await self.client.close()


async def until(check: Any, timeout: float = 4 * TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


_readers = iter(range(1_000_000))


async def stored_ids(port: int) -> list[int]:
    """Every id of `general` in the store (history pages, read on that node)."""
    reader = await LineClient.connect(port)
    await reader.join(f"reader{next(_readers)}")
    await reader.settle()  # the recent history of the join
    out: list[int] = []
    while True:
        await reader.send({"type": "history", "room": "general", "after": out[-1] if out else 0,
                           "limit": 500})  # fmt: skip
        page = await reader.until("history", timeout=20, skip=NOISE | {"chat"})  # live ones
        out += [m["id"] for m in page["messages"]]
        if len(page["messages"]) < 500:
            await reader.close()
            return out


def needs_services() -> None:
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")


def disorder(member: Member) -> str:
    """ "" if the member's ids increase strictly, else where they do not (for the failure)."""
    for i, (a, b) in enumerate(itertools.pairwise(member.ids)):
        if a >= b:
            return f"{member.name} at {i}: {member.trace[max(0, i - 6) : i + 6]}"
    return ""


def test_three_nodes_deliver_one_room_in_one_order(store_url: str, tmp_path: Path) -> None:
    needs_services()
    prefix = unique_prefix()
    nodes = [Node(store_url, NATS_URL, prefix, tmp_path / "nodes.log") for _ in range(3)]
    each = 40

    async def scenario() -> None:
        await asyncio.gather(*(node.start() for node in nodes))
        members = [Member(f"m{i}") for i in range(6)]
        for i, member in enumerate(members):
            await member.join(nodes[i % 3].port)
        # No wait for the nodes' subscriptions: a frame missed meanwhile is a delay (a gap
        # read from the store), never a loss.
        for round_ in range(each):
            await asyncio.gather(*(m.say(f"{m.name} {round_}") for m in members))
        total = each * len(members)
        await until(lambda: all(len(m.ids) >= total for m in members))
        stored = await stored_ids(nodes[0].port)
        assert len(stored) == total
        for member in members:
            assert member.ids == stored, (
                f"{member.name} {member.ids}"
            )  # same messages, same order, once
            assert len(member.echoed) == each
        for member in members:
            await member.close()

    with killed_at_the_end(nodes):
        asyncio.run(scenario())


def test_kill_9_of_a_node_mid_burst_loses_and_repeats_nothing(
    store_url: str, tmp_path: Path
) -> None:
    needs_services()
    prefix = unique_prefix()
    nodes = [Node(store_url, NATS_URL, prefix, tmp_path / "nodes.log") for _ in range(3)]
    trials, burst = 20, 15

    async def scenario() -> None:
        await asyncio.gather(*(node.start() for node in nodes))
        members = [Member(f"m{i}") for i in range(3)]
        for i, member in enumerate(members):
            await member.join(nodes[i].port)
        for trial in range(trials):
            dead = trial % 3
            victim = members[dead]
            before = len(victim.echoed)
            for i in range(burst):  # without waiting for echoes
                await asyncio.gather(*(m.say(f"{m.name} t{trial} {i}") for m in members))
                if i == burst // 2:
                    await until(lambda v=victim, b=before: len(v.echoed) > b)  # mid-burst
                    nodes[dead].kill()
            await victim.gone()
            await victim.close()
            await victim.join(nodes[(dead + 1) % 3].port)  # with since
            await nodes[dead].start()
            await victim.close()  # and home again, with since (its node is back)
            await victim.join(nodes[dead].port)
        for member in members:
            await member.say(f"{member.name} last")
        stored: list[int] = []

        def complete() -> bool:
            return bool(stored) and all(m.ids[-1:] == stored[-1:] for m in members)

        async with asyncio.timeout(4 * TIMEOUT):
            while not complete():
                stored = await stored_ids(nodes[0].port)
                await asyncio.sleep(0.1)
        for member in members:
            assert not disorder(member), disorder(member)  # no duplicate, in order
            assert member.ids == stored, member.name  # no gap
            assert set(member.echoed) <= set(stored)
        for member in members:
            await member.close()

    with killed_at_the_end(nodes):
        asyncio.run(scenario())


def test_nodes_recover_from_a_nats_restart_and_lose_nothing(store_url: str, tmp_path: Path) -> None:
    needs_service(NATS_SERVER is not None, "nats-server is not installed")
    broker = Broker(free_port())
    url = f"nats://127.0.0.1:{broker.port}"
    prefix = unique_prefix()
    nodes = [Node(store_url, url, prefix, tmp_path / "nodes.log") for _ in range(3)]

    async def scenario() -> None:
        await broker.start()
        await asyncio.gather(*(node.start() for node in nodes))
        members = [Member(f"m{i}") for i in range(3)]
        for i, member in enumerate(members):
            await member.join(nodes[i].port)
        for round_ in range(60):
            await asyncio.gather(*(m.say(f"{m.name} {round_}") for m in members))
            if round_ == 20:
                broker.stop()
            if round_ == 40:
                await broker.start()
            await asyncio.sleep(0.01)
        stored: list[int] = []
        async with asyncio.timeout(4 * TIMEOUT):
            while not stored or any(m.ids[-1:] != stored[-1:] for m in members):
                stored = await stored_ids(nodes[0].port)
                await asyncio.sleep(0.1)
        assert len(stored) == 180
        for member in members:
            assert member.ids == stored, member.name
        for member in members:
            await member.close()

    try:
        with killed_at_the_end(nodes):
            asyncio.run(scenario())
    finally:
        broker.stop()
