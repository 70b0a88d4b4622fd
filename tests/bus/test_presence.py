"""Shared presence: three ChatServer nodes on one in-process bus network (black box: native
clients on real sockets), sharing one MemoryStore as the nodes of test_nodes.py do.

Who is online is shared: names are unique across nodes, user lists show everyone, a private
message and a kick reach a user on another node, and a node that goes silent takes its
users with it (server/nodes.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from chinwag.bus.base import Bus
from chinwag.bus.local import InProcessBus, InProcessNetwork
from chinwag.config import ServerConfig
from chinwag.engine.names import user_key
from chinwag.server.app import ChatServer
from chinwag.storage.base import AccountRecord
from chinwag.storage.memory import MemoryStore
from tests.helpers import NOISE, TIMEOUT, LineClient
from tests.irc_support import irc_user

PASSWORD = "correct horse battery"


@contextlib.asynccontextmanager
async def nodes(
    count: int, beat: float | None = None, bus: Callable[[], Bus] | None = None
) -> AsyncIterator[list[ChatServer]]:
    """Nodes sharing a store, on one in-process network unless `bus` makes their buses."""
    network, store = InProcessNetwork(), MemoryStore()
    make_bus = bus or (lambda: InProcessBus(network))
    servers: list[ChatServer] = []
    try:
        for _ in range(count):
            config = ServerConfig(
                host="127.0.0.1", port=0, data=":memory:", password_profile="cheapest"
            )
            config.http_port = 0
            config.limits.message_rate = config.limits.command_rate = 0
            server = ChatServer(config, store=store, bus=make_bus())
            if beat is not None:
                server.nodes.beat, server.nodes.dead_after = beat, beat * 5
            await server.start()
            servers.append(server)
        yield servers
    finally:
        for server in servers:
            await server.shutdown()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not condition():
            await asyncio.sleep(0.01)


def in_sync(servers: list[ChatServer]) -> bool:
    """Every node's replica holds every other node's users, in the rooms they are in."""
    for server in servers:
        replica = server.engine.replica
        for other in servers:
            if other is server:
                continue
            theirs = replica.nodes.get(other.nodes.node, {})
            online = other.engine.memberships.online
            if set(theirs) != set(online):
                return False
            for key, session in online.items():
                if set(theirs[key].rooms) != set(session.rooms):
                    return False
    return True


async def synced(servers: list[ChatServer]) -> None:
    await until(lambda: in_sync(servers))


async def guest(server: ChatServer, name: str) -> LineClient:
    client = await LineClient.connect(server.port)
    await client.join(name)
    return client


async def account(server: ChatServer, name: str, role: str = "member") -> LineClient:
    engine = server.engine
    assert engine.passwords is not None
    key = user_key(name)
    if await engine.store.account(key) is None:
        hashed = await engine.passwords.hash(PASSWORD)
        await engine.store.create_account(AccountRecord(key, name, hashed, role, 0.0))
    engine.registered.add(key)
    client = await LineClient.connect(server.port)
    await client.send({"type": "join", "username": name, "password": PASSWORD})
    await client.until("welcome")
    return client


async def answer(client: LineClient, command: dict[str, Any], kind: str) -> dict[str, Any]:
    await client.send(command)
    return await client.until(kind)


async def quiet(*clients: LineClient) -> None:
    for client in clients:
        assert [m for m in await client.settle() if m["type"] not in NOISE] == []


def test_a_name_taken_on_one_node_is_refused_on_another():
    async def scenario() -> None:
        async with nodes(3) as servers:
            one, _two, three = servers
            alice = await guest(one, "alice")
            await synced(servers)
            other = await LineClient.connect(three.port)
            await other.send({"type": "join", "username": "Alice"})
            assert (await other.until("error"))["code"] == "name_taken"
            await other.send({"type": "join", "username": "\u0430lice"})  # Cyrillic a: a look-alike
            assert (await other.until("error"))["code"] == "name_taken"
            bob = await guest(three, "bob")
            assert (await answer(bob, {"type": "nick", "username": "ALICE"}, "error"))[
                "code"
            ] == "name_taken"
            # Gone from node one: free on node three.
            await alice.close()
            await until(lambda: user_key("alice") not in three.engine.replica.users)
            assert (await other.join("alice"))["username"] == "alice"

    asyncio.run(scenario())


def test_user_lists_and_room_members_show_users_of_other_nodes():
    async def scenario() -> None:
        async with nodes(3) as servers:
            one, two, three = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            carol = await guest(three, "carol")
            await answer(carol, {"type": "join_room", "room": "dev"}, "join_room")
            await synced(servers)
            users = await answer(alice, {"type": "list_users"}, "list_users")
            assert users["users"] == ["alice", "bob", "carol"]
            dev = await answer(alice, {"type": "list_users", "room": "dev"}, "list_users")
            assert (dev["room"], dev["users"]) == ("dev", ["carol"])  # dev is only on node three
            dave = await guest(one, "dave")  # a welcome counts everyone in general
            welcome_users = await answer(
                dave, {"type": "list_users", "room": "general"}, "list_users"
            )
            assert welcome_users["users"] == ["alice", "bob", "carol", "dave"]
            joined = await answer(alice, {"type": "join_room", "room": "dev"}, "join_room")
            assert sorted(joined["users"]) == ["alice", "carol"]
            for client in (alice, bob, carol, dave):
                await client.close()

    asyncio.run(scenario())


def test_a_welcome_on_one_node_lists_users_of_the_others():
    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            alice = await guest(one, "alice")
            await synced(servers)
            client = await LineClient.connect(two.port)
            welcome = await client.join("bob")
            assert sorted(welcome["users"]) == ["alice", "bob"]
            await alice.close()

    asyncio.run(scenario())


def test_a_private_message_reaches_a_user_on_another_node_and_nobody_else():
    async def scenario() -> None:
        async with nodes(3) as servers:
            one, two, three = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            carol = await guest(three, "carol")
            await synced(servers)
            await alice.settle()
            await alice.send({"type": "private", "target": "Carol", "message": "psst"})
            echo = await alice.until("private")
            heard = await carol.until("private")
            assert heard == echo
            assert (heard["username"], heard["target"], heard["message"]) == (
                "alice",
                "carol",
                "psst",
            )
            await carol.send({"type": "private", "target": "alice", "message": "hi back"})
            assert (await alice.until("private"))["message"] == "hi back"
            await quiet(bob)  # nothing leaked to the third node
            await alice.send({"type": "private", "target": "nobody", "message": "x"})
            assert (await alice.until("error"))["code"] == "unknown_user"

    asyncio.run(scenario())


def test_a_kick_on_node_one_removes_a_user_on_node_three_from_a_room():
    async def scenario() -> None:
        async with nodes(3) as servers:
            one, _two, three = servers
            alice = await account(one, "alice")  # makes dev: its owner
            await answer(alice, {"type": "join_room", "room": "dev"}, "join_room")
            bob = await guest(three, "bob")
            carol = await guest(three, "carol")
            await answer(bob, {"type": "join_room", "room": "dev"}, "join_room")
            await answer(carol, {"type": "join_room", "room": "dev"}, "join_room")
            await synced(servers)
            for client in (alice, bob, carol):
                await client.settle()
            kick = {"type": "kick", "room": "dev", "username": "bob", "reason": "spam"}
            await alice.send(kick)
            for client in (alice, bob, carol):
                notice = await client.until("moderation")
                assert (notice["action"], notice["username"], notice["by"], notice["room"]) == (
                    "kick",
                    "bob",
                    "alice",
                    "dev",
                )
            refused = await answer(bob, {"type": "chat", "room": "dev", "message": "hi"}, "error")
            assert refused["code"] == "not_in_room"
            await synced(servers)
            dev = await answer(alice, {"type": "list_users", "room": "dev"}, "list_users")
            assert dev["users"] == ["alice", "carol"]
            await quiet(alice, bob, carol)
            # Nobody gets it twice, and bob is still online (a room kick).
            users = await answer(alice, {"type": "list_users"}, "list_users")
            assert users["users"] == ["alice", "bob", "carol"]

    asyncio.run(scenario())


def test_a_kick_from_general_and_a_room_ban_reach_a_user_on_another_node():
    async def scenario() -> None:
        async with nodes(3) as servers:
            one, two, three = servers
            boss = await account(one, "boss", "admin")
            bob = await guest(three, "bob")
            carol = await guest(two, "carol")
            await answer(carol, {"type": "join_room", "room": "dev"}, "join_room")
            await answer(boss, {"type": "join_room", "room": "dev"}, "join_room")
            await synced(servers)
            for client in (boss, bob, carol):
                await client.settle()
            # A room ban of carol (node two) from node one: out of dev, and kept out.
            await boss.send({"type": "ban", "room": "dev", "username": "carol"})
            for client in (boss, carol):
                assert (await client.until("moderation"))["action"] == "ban"
            again = await answer(carol, {"type": "join_room", "room": "dev"}, "error")
            assert again["code"] == "banned"
            # A kick from general (node three's bob) is off the server.
            await boss.send({"type": "kick", "room": "general", "username": "bob"})
            assert (await boss.until("moderation"))["action"] == "kick"
            assert (await bob.until("moderation"))["action"] == "kick"
            goodbye = await bob.until("goodbye")
            assert "kicked by boss" in goodbye["message"]
            assert await bob.closed()
            left = await carol.until("user_left", skip=NOISE - {"user_left"})
            assert (left["username"], left["reason"]) == ("bob", "kicked by boss")
            await until(lambda: user_key("bob") not in one.engine.replica.users)
            users = await answer(boss, {"type": "list_users"}, "list_users")
            assert users["users"] == ["boss", "carol"]

    asyncio.run(scenario())


def test_a_node_gone_silent_loses_its_users_with_user_left_notices():
    async def scenario() -> None:
        async with nodes(3, beat=0.3) as servers:
            one, two, three = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            carol = await guest(three, "carol")
            await answer(carol, {"type": "join_room", "room": "dev"}, "join_room")
            await answer(alice, {"type": "join_room", "room": "dev"}, "join_room")
            await synced(servers)
            await alice.settle()
            three.nodes.stop(goodbye=False)  # as a crash: no more heartbeats, no goodbye
            seen = []
            for _ in range(2):  # general and dev, in either order
                left = await alice.until("user_left", timeout=TIMEOUT * 2, skip=frozenset())
                seen.append((left["room"], left["username"], left["reason"]))
            assert sorted(seen) == [
                ("dev", "carol", "Node lost"),
                ("general", "carol", "Node lost"),
            ]
            users = await answer(alice, {"type": "list_users"}, "list_users")
            assert users["users"] == ["alice", "bob"]
            await until(lambda: user_key("carol") not in two.engine.replica.users)
            await quiet(alice, bob)

    asyncio.run(scenario())


def test_a_node_that_shuts_down_says_goodbye_and_its_users_leave_once():
    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            await synced(servers)
            await alice.settle()
            await two.shutdown()
            left = await alice.until("user_left", skip=frozenset())
            assert left["username"] == "bob"
            await until(lambda: not one.engine.replica.nodes)
            await quiet(alice)  # once: not again as "Node lost"
            assert await bob.closed()

    asyncio.run(scenario())


def test_an_account_signed_in_on_another_node_signs_the_older_session_out():
    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            watcher = await guest(one, "watcher")
            old = await account(one, "alice")
            await synced(servers)
            await watcher.settle()
            new = await account(two, "alice")
            goodbye = await old.until("goodbye")
            assert goodbye["message"] == "Signed out: signed in elsewhere"
            assert await old.closed()
            await synced(servers)
            users = await answer(watcher, {"type": "list_users"}, "list_users")
            assert users["users"] == ["alice", "watcher"]
            # The name stays in general: the watcher is not told alice left.
            seen = [m for m in await watcher.settle() if m["type"] == "user_left"]
            assert seen == []
            await new.send({"type": "chat", "message": "moved"})
            assert (await watcher.until("chat"))["message"] == "moved"

    asyncio.run(scenario())


def test_two_nodes_admitting_one_guest_name_at_once_settle_it_the_same_way():
    """The race, made certain: node one hears (as from a node that admitted `carol`
    earlier or later than its own guest) and keeps or signs out its own `carol`."""

    async def scenario() -> None:
        async with nodes(1) as (one,):
            carol = await guest(one, "carol")
            key = user_key("carol")
            mine = one.nodes.stamps.get(key, 0)  # alone when it took it: 0

            def claim(node: str, stamp: int) -> bytes:
                change = ["in", key, "carol", None, "guest", stamp]
                record = {"kind": "changes", "node": node, "seq": 1, "changes": [change]}
                return orjson.dumps(record)

            # Later than ours: ours stays (that node signs its own out).
            one.nodes.peers.clear()
            from chinwag.server.nodes import Peer

            one.nodes.peers["later"] = peer = Peer(one.loop.time())
            peer.seq = 0
            one.nodes.receive(claim("later", mine + 1))
            assert await carol.settle() == []
            # Earlier than ours: ours goes, told why.
            one.nodes.peers["earlier"] = peer = Peer(one.loop.time())
            peer.seq = 0
            one.nodes.receive(claim("earlier", mine - 1))
            assert (await carol.until("error"))["code"] == "name_taken"
            goodbye = await carol.until("goodbye")
            assert "taken on another server" in goodbye["message"]
            assert await carol.closed()

    asyncio.run(scenario())


def test_a_gap_in_a_nodes_numbers_is_healed_by_its_snapshot():
    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            await synced(servers)
            peer = one.nodes.peers[two.nodes.node]
            before = peer.seq
            assert before == two.nodes.seq
            two.nodes.seq += 1  # as if a record had been lost on its way
            await answer(bob, {"type": "join_room", "room": "dev"}, "join_room")
            carol = await guest(two, "carol")
            await synced(servers)  # only a snapshot can have told node one of these
            assert peer.seq == two.nodes.seq > before + 1
            dev = await answer(alice, {"type": "list_users", "room": "dev"}, "list_users")
            assert dev["users"] == ["bob"]
            for client in (alice, bob, carol):
                await client.close()

    asyncio.run(scenario())


def test_one_node_alone_publishes_nothing_and_its_replica_stays_empty():
    async def scenario() -> None:
        async with nodes(1) as (one,):
            alice = await guest(one, "alice")
            await answer(alice, {"type": "join_room", "room": "dev"}, "join_room")
            node = one.nodes
            assert (node.seq, node.changes, node.stamps, node.peers) == (0, [], {}, {})
            replica = one.engine.replica
            assert (replica.nodes, replica.users, replica.rooms) == ({}, {}, {})

    asyncio.run(scenario())


def test_an_account_seen_on_another_node_stays_registered_there_once_it_signs_out():
    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            alice = await account(one, "alice")  # made after node two started
            await synced(servers)
            await alice.close()
            await until(lambda: user_key("alice") not in two.engine.replica.users)
            other = await LineClient.connect(two.port)
            await other.send({"type": "join", "username": "alice"})
            assert (await other.until("error"))["code"] == "name_registered"

    asyncio.run(scenario())


def test_a_mute_on_one_node_holds_on_the_node_of_its_target_until_lifted():
    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            boss = await account(one, "boss", "admin")
            carol = await guest(two, "carol")
            await answer(boss, {"type": "join_room", "room": "dev"}, "join_room")
            await answer(carol, {"type": "join_room", "room": "dev"}, "join_room")
            await synced(servers)
            for client in (boss, carol):
                await client.settle()
            await boss.send({"type": "mute", "room": "dev", "username": "carol"})
            for client in (boss, carol):
                assert (await client.until("moderation"))["action"] == "mute"
            await until(lambda: bool(two.engine.sanctions.muted_rooms))
            said = {"type": "chat", "room": "dev", "message": "hello?"}
            assert (await answer(carol, said, "error"))["code"] == "muted"
            await boss.send({"type": "unmute", "room": "dev", "username": "carol"})
            for client in (boss, carol):
                assert (await client.until("moderation"))["action"] == "unmute"
            await until(lambda: not two.engine.sanctions.muted_rooms)
            assert (await answer(carol, said, "chat"))["message"] == "hello?"
            assert (await boss.until("chat"))["message"] == "hello?"

    asyncio.run(scenario())


def test_a_node_found_dead_and_heard_again_gets_its_users_back_with_user_joined():
    async def scenario() -> None:
        async with nodes(2, beat=0.3) as servers:
            one, two = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            await synced(servers)
            await alice.settle()
            two.nodes.stop(goodbye=False)  # a stall, or a partition
            left = await alice.until("user_left", timeout=TIMEOUT * 2, skip=frozenset())
            assert (left["username"], left["reason"]) == ("bob", "Node lost")
            two.bus.attach_presence(two.nodes.node, two.nodes.receive, two.nodes.snapshot)
            two.nodes.start()  # heard again
            joined = await alice.until("user_joined", skip=frozenset())
            assert (joined["username"], joined["room"]) == ("bob", "general")
            users = await answer(alice, {"type": "list_users"}, "list_users")
            assert users["users"] == ["alice", "bob"]
            await quiet(alice, bob)

    asyncio.run(scenario())


def test_a_server_ban_on_one_node_ends_the_session_on_another_and_holds_on_every_node():
    async def scenario() -> None:
        async with nodes(3) as servers:
            one, two, three = servers
            boss = await account(one, "boss", "admin")
            bob = await account(two, "bob")
            await synced(servers)
            for client in (boss, bob):
                await client.settle()
            await boss.send({"type": "ban", "username": "bob", "reason": "abuse"})
            assert (await boss.until("moderation"))["action"] == "ban"
            assert (await bob.until("moderation"))["action"] == "ban"
            goodbye = await bob.until("goodbye")
            assert goodbye["message"] == "Signed out: banned from this server by boss: abuse"
            assert await bob.closed()
            for server in (two, three):  # its own node, and a third one
                again = await LineClient.connect(server.port)
                await again.send({"type": "join", "username": "bob", "password": PASSWORD})
                assert (await again.until("error"))["code"] == "banned"
                assert (await again.until("goodbye"))["message"].startswith("Disconnected")

    asyncio.run(scenario())


def test_room_lists_and_irc_names_count_and_name_members_of_other_nodes():
    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            alice = await guest(one, "alice")
            await answer(alice, {"type": "join_room", "room": "dev"}, "join_room")
            bob = await guest(two, "bob")
            for room in ("dev", "ops"):
                await answer(bob, {"type": "join_room", "room": room}, "join_room")
            await synced(servers)
            rooms = await answer(alice, {"type": "rooms"}, "rooms")
            counts = {r["room"]: r["users"] for r in rooms["rooms"]}
            assert counts == {"dev": 2, "general": 2, "ops": 1}  # ops: only on node two
            page = await answer(alice, {"type": "rooms", "limit": 1}, "rooms")
            assert (len(page["rooms"]), page["next"]) == (1, "dev")
            irc = await irc_user(one, "ric")
            await irc.send("NAMES #general", "JOIN #ops")
            got = await irc.settle()
            names = [m.params[3] for m in got if m.command == "353"]
            assert sorted(names[0].split()) == ["alice", "bob", "ric"]
            assert sorted(names[1].split()) == ["bob", "ric"]
            for client in (alice, bob):
                await client.close()
            await irc.close()

    asyncio.run(scenario())


def test_a_room_left_on_one_node_stays_in_the_shared_store_while_another_node_has_members():
    """A node removes an unused room its last local member left, but the row in the store
    the nodes share is not its alone while members on other nodes are in the room."""

    async def scenario() -> None:
        async with nodes(2) as servers:
            one, two = servers
            alice = await guest(one, "alice")
            bob = await guest(two, "bob")
            await answer(alice, {"type": "join_room", "room": "quiet"}, "join_room")
            await answer(bob, {"type": "join_room", "room": "quiet"}, "join_room")
            await synced(servers)
            await answer(alice, {"type": "leave_room", "room": "quiet"}, "leave_room")
            await until(lambda: "quiet" not in one.engine.memberships.rooms)
            await synced(servers)
            state = await one.engine.store.open()  # the shared store's rooms, as a node reads
            assert "quiet" in {room.name for room in state.rooms}
            await answer(bob, {"type": "leave_room", "room": "quiet"}, "leave_room")
            await until(lambda: "quiet" not in two.engine.memberships.rooms)
            state = await two.engine.store.open()
            assert "quiet" not in {room.name for room in state.rooms}  # the last one leaves
            for client in (alice, bob):
                await client.close()

    asyncio.run(scenario())
