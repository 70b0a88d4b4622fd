"""Two ChatServer nodes sharing rooms over NATS (black box: native clients on real sockets).

Both nodes run in this process and share one MemoryStore object: ids must come from one
sequence (clients drop an id they have seen, and the durable gate compares ids with the
store's), which two SQLite folders would not give. A shared networked store is the
PostgreSQL part of issue 15.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from chinwag.bus.base import Bus
from chinwag.config import ServerConfig
from chinwag.server.app import ChatServer
from chinwag.storage.memory import MemoryStore
from tests.bus.conftest import NATS_URL, listening, unique_prefix
from tests.helpers import (
    NOISE,
    LineClient,
    free_port,
    needs_module,
    needs_service,
    wait_for_port,
)

needs_module("nats", "nats-py is not installed (pip install -e '.[dev]')")


@contextlib.asynccontextmanager
async def nodes(count: int) -> AsyncIterator[list[ChatServer]]:
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")
    from chinwag.bus.nats import NatsBus

    store, prefix = MemoryStore(), unique_prefix()
    servers: list[ChatServer] = []
    try:
        for _ in range(count):
            config = ServerConfig(
                host="127.0.0.1", port=0, data=":memory:", password_profile="cheapest"
            )
            config.http_port = 0
            config.limits.message_rate = config.limits.command_rate = 0  # bursts are tests
            server = ChatServer(config, store=store, bus=NatsBus(NATS_URL, prefix=prefix))
            await server.start()
            servers.append(server)
        yield servers
    finally:
        for server in servers:
            await server.shutdown()


async def ready(*buses: Bus) -> None:
    for bus in buses:
        await bus.ready()


def test_clients_on_two_nodes_chat_in_one_room():
    async def scenario() -> None:
        async with nodes(2) as (one, two):
            alice = await LineClient.connect(one.port)
            await alice.join("alice")
            await ready(one.bus, two.bus)  # node one hears `general` before bob's join
            bob = await LineClient.connect(two.port)
            await bob.join("bob")
            await ready(one.bus, two.bus)  # node two hears `general` now
            joined = await alice.until("user_joined")  # presence crosses too
            assert (joined["username"], joined["room"]) == ("bob", "general")

            await alice.send({"type": "chat", "message": "hello from one"})
            echo = await alice.until("chat")
            heard = await bob.until("chat")
            assert heard == echo
            assert (heard["username"], heard["message"]) == ("alice", "hello from one")

            await bob.send({"type": "chat", "message": "hello from two"})
            echo = await bob.until("chat")
            heard = await alice.until("chat")
            assert heard == echo
            assert (heard["username"], heard["message"]) == ("bob", "hello from two")
            assert heard["id"] > joined.get("id", 0)  # one sequence: the shared store's

            assert await alice.settle() == [] and await bob.settle() == []
            for client in (alice, bob):
                await client.close()

    asyncio.run(scenario())


def test_a_burst_from_one_node_arrives_whole_and_in_order_on_the_other():
    async def scenario() -> None:
        async with nodes(2) as (one, two):
            alice = await LineClient.connect(one.port)
            await alice.join("alice")
            await ready(one.bus, two.bus)  # node one hears `general` before bob's join
            bob = await LineClient.connect(two.port)
            await bob.join("bob")
            await ready(one.bus, two.bus)
            await alice.until("user_joined")
            for i in range(100):
                await alice.send({"type": "chat", "message": f"m{i}"})
            echoes = [await alice.until("chat") for _ in range(100)]
            heard = [await bob.until("chat") for _ in range(100)]
            assert [m["message"] for m in heard] == [f"m{i}" for i in range(100)]
            assert heard == echoes
            assert await bob.settle() == []
            for client in (alice, bob):
                await client.close()

    asyncio.run(scenario())


def test_a_room_on_one_node_only_stays_there():
    async def scenario() -> None:
        async with nodes(2) as (one, two):
            alice = await LineClient.connect(one.port)
            await alice.join("alice")
            await alice.send({"type": "join_room", "room": "secret"})
            await alice.until("join_room")
            bob = await LineClient.connect(two.port)
            await bob.join("bob")
            await ready(one.bus, two.bus)
            await alice.send({"type": "chat", "message": "secret", "room": "secret"})
            assert (await alice.until("chat"))["room"] == "secret"
            await alice.send({"type": "chat", "message": "mark", "room": "general"})
            assert (await bob.until("chat"))["message"] == "mark"  # nothing of secret first
            assert [m for m in await bob.settle() if m["type"] not in NOISE] == []
            for client in (alice, bob):
                await client.close()

    asyncio.run(scenario())


def test_chinwag_serve_with_a_bus_runs_says_it_is_a_preview_and_stops_cleanly():
    """The flag end to end, as a process: it connects, serves, warns, and shuts down."""
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")
    port = free_port()
    argv = [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", ":memory:"]
    argv += ["--bus", NATS_URL, "--bus-prefix", unique_prefix()]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE)

    async def scenario() -> None:
        await wait_for_port(port, proc)
        alice = await LineClient.connect(port)
        await alice.join("alice")
        await alice.send({"type": "chat", "message": "over the bus"})
        assert (await alice.until("chat"))["message"] == "over the bus"
        proc.send_signal(signal.SIGTERM)
        await alice.until("goodbye")
        assert await alice.closed()

    try:
        asyncio.run(scenario())
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read().decode() if proc.stderr else ""
    assert "a preview" in log and "Server stopped" in log, log


@pytest.mark.slow  # the bus tries for 5 s before it gives up
def test_chinwag_serve_without_its_broker_says_so_and_exits_1():
    port = free_port()
    argv = [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", ":memory:"]
    argv += ["--bus", f"nats://127.0.0.1:{free_port()}"]
    result = subprocess.run(argv, capture_output=True, timeout=60)
    assert result.returncode == 1
    assert b"cannot reach the bus" in result.stderr and b"Traceback" not in result.stderr
