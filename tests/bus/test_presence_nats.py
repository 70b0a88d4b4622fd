"""Shared presence over NATS: three ChatServer nodes in this process with buses of their own,
and a `chinwag serve` process killed with SIGKILL (no goodbye) whose users leave the lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from chinwag.engine.names import user_key
from chinwag.server.app import ChatServer
from tests.bus.conftest import NATS_URL, listening, unique_prefix
from tests.bus.test_broker_restart import NATS_SERVER, Broker
from tests.bus.test_presence import answer, guest, nodes, quiet, synced, until
from tests.helpers import LineClient, free_port, needs_module, needs_service, wait_for_port

needs_module("nats", "nats-py is not installed (pip install -e '.[dev]')")


def nats_nodes(
    count: int, prefix: str | None = None
) -> contextlib.AbstractAsyncContextManager[list[ChatServer]]:
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")
    from chinwag.bus.nats import NatsBus

    subjects = prefix or unique_prefix()
    return nodes(count, bus=lambda: NatsBus(NATS_URL, prefix=subjects))


async def ready(*servers: ChatServer) -> None:
    for server in servers:
        await server.bus.ready()


def test_three_nodes_over_nats_share_names_lists_private_messages_and_kicks():
    async def scenario() -> None:
        async with nats_nodes(3) as servers:
            one, two, three = servers
            from tests.bus.test_presence import account

            alice = await account(one, "alice")
            bob = await guest(two, "bob")
            carol = await guest(three, "carol")
            await answer(alice, {"type": "join_room", "room": "dev"}, "join_room")
            await answer(carol, {"type": "join_room", "room": "dev"}, "join_room")
            await synced(servers)
            await ready(*servers)
            for client in (alice, bob, carol):
                await client.settle()
            # Names are unique across nodes.
            other = await LineClient.connect(three.port)
            await other.send({"type": "join", "username": "BOB"})
            assert (await other.until("error"))["code"] == "name_taken"
            # Node one lists node three's users, in general and in dev.
            users = await answer(alice, {"type": "list_users"}, "list_users")
            assert users["users"] == ["alice", "bob", "carol"]
            dev = await answer(alice, {"type": "list_users", "room": "dev"}, "list_users")
            assert dev["users"] == ["alice", "carol"]
            # A private message from node one to node three.
            await alice.send({"type": "private", "target": "carol", "message": "psst"})
            echo = await alice.until("private")
            assert await carol.until("private") == echo
            # A kick on node one of a user on node three.
            await alice.send({"type": "kick", "room": "dev", "username": "carol"})
            for client in (alice, carol):
                notice = await client.until("moderation")
                assert (notice["action"], notice["username"]) == ("kick", "carol")
            await until(lambda: "dev" not in one.engine.replica.nodes[three.nodes.node]
                        [user_key("carol")].rooms)  # fmt: skip
            dev = await answer(alice, {"type": "list_users", "room": "dev"}, "list_users")
            assert dev["users"] == ["alice"]
            await quiet(alice, bob, carol)

    asyncio.run(scenario())


def test_a_node_killed_without_goodbye_leaves_the_lists_of_the_others():
    """`kill -9` of a `chinwag serve` node: the other node tells its members the node's
    users left ("Node lost") once the heartbeats stop (about 6-8 s), and lists drop them."""
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")

    async def scenario() -> None:
        prefix = unique_prefix()
        async with nats_nodes(1, prefix) as (one,):
            port = free_port()
            argv = [sys.executable, "-m", "chinwag", "serve", "--port", str(port)]
            argv += ["--data", ":memory:", "--bus", NATS_URL, "--bus-prefix", prefix]
            proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
            try:
                await wait_for_port(port, proc)
                alice = await guest(one, "alice")
                zed = await guest_at(port, "zed")
                await until(lambda: user_key("zed") in one.engine.replica.users)
                users = await answer(alice, {"type": "list_users"}, "list_users")
                assert users["users"] == ["alice", "zed"]
                await alice.settle()
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                left = await alice.until("user_left", timeout=15, skip=frozenset())
                assert (left["username"], left["reason"]) == ("zed", "Node lost")
                users = await answer(alice, {"type": "list_users"}, "list_users")
                assert users["users"] == ["alice"]
                await zed.close()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    asyncio.run(scenario())


async def guest_at(port: int, name: str) -> LineClient:
    client = await LineClient.connect(port)
    await client.join(name)
    return client


@pytest.fixture
def own_broker() -> Iterator[Broker]:
    needs_service(NATS_SERVER is not None, "nats-server is not installed")
    broker = Broker(free_port())
    yield broker
    broker.stop()


@pytest.mark.slow
def test_nodes_away_from_a_restarted_broker_do_not_take_each_other_for_dead(own_broker: Broker):
    """Hearing nobody while the broker is away says nothing about the other nodes: no
    "Node lost" when it comes back, even after longer than `dead_after`."""

    broker = own_broker

    async def scenario() -> None:
        await broker.start()
        from chinwag.bus.nats import NatsBus

        prefix, url = unique_prefix(), f"nats://127.0.0.1:{broker.port}"
        async with nodes(2, beat=0.3, bus=lambda: NatsBus(url, prefix=prefix)) as servers:
            one, two = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            await synced(servers)
            await ready(*servers)
            await alice.settle()
            broker.stop()
            await until(lambda: not one.bus.connected)  # type: ignore[attr-defined]
            await asyncio.sleep(one.nodes.dead_after * 2)
            await broker.start()
            await until(lambda: one.bus.connected and two.bus.connected)  # type: ignore[attr-defined]
            await asyncio.sleep(one.nodes.dead_after * 2)  # judged again meanwhile
            assert [m for m in await alice.settle() if m["type"] == "user_left"] == []
            assert user_key("bob") in one.engine.replica.users
            await alice.send({"type": "private", "target": "bob", "message": "still here?"})
            echo = await alice.until("private")
            assert await bob.until("private") == echo

    asyncio.run(scenario())
