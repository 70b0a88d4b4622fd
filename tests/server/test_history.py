"""Rooms, persistent history, search, private messages and reconnect with `since`,
over real sockets against a server with an SQLite store in tmp_path."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from chinwag.config import ServerConfig
from chinwag.server.app import ChatServer
from chinwag.storage.base import MAX_PAGE
from chinwag.storage.memory import MemoryStore
from chinwag.storage.sqlite import SQLiteStore
from tests.helpers import LineClient, joined, running_server

FAST = {"message_rate": 0, "command_rate": 0}
_tokens = itertools.count(1)


async def settle(client: LineClient) -> list[dict[str, Any]]:
    """Everything the server sends this client before the answer to a fresh ping.

    The server answers in order, so this proves what a client did *not* receive
    without waiting for a timeout.
    """
    token = f"t{next(_tokens)}"
    await client.send({"type": "ping", "token": token})
    seen: list[dict[str, Any]] = []
    while True:
        obj = await client.json()
        if obj.get("type") == "pong" and obj.get("token") == token:
            return seen
        seen.append(obj)


async def ask(client: LineClient, request: dict[str, Any]) -> dict[str, Any]:
    """Send a request and return the reply of the same type (skipping other traffic)."""
    await client.send(request)
    return await client.until(request["type"])


async def say(client: LineClient, text: str, room: str = "general") -> dict[str, Any]:
    """Chat and return the echo."""
    await client.send({"type": "chat", "room": room, "message": text})
    while True:
        echo = await client.until("chat")
        if echo["message"] == text and not echo.get("history"):
            return echo


async def join_room(client: LineClient, room: str) -> dict[str, Any]:
    return await ask(client, {"type": "join_room", "room": room})


def chats(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in seen if m.get("type") in ("chat", "private", "topic")]


async def error_for(client: LineClient, request: dict[str, Any]) -> str:
    await client.send(request)
    reply = await client.until("error")
    code: str = reply["code"]
    return code


# --------------------------------------------------------------------------- rooms


def test_rooms_create_join_leave_list_and_topics(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **FAST) as server:
            alice, bob, carol = await joined(server.port, "alice", "bob", "carol")

            created = await join_room(alice, "#Dev")
            assert created == {"type": "join_room", "room": "Dev", "topic": "", "users": ["alice"]}
            entered = await join_room(bob, "dev")
            assert entered["room"] == "Dev" and entered["users"] == ["alice", "bob"]
            notice = await alice.until("user_joined")
            assert notice["room"] == "Dev" and notice["username"] == "bob"
            assert await settle(carol) == []  # not a member: no notice

            listed = await ask(carol, {"type": "rooms"})
            assert listed["rooms"] == [
                {"room": "Dev", "users": 2, "topic": ""},
                {"room": "general", "users": 3, "topic": ""},
            ]

            await alice.send({"type": "topic", "room": "dev", "topic": "  Ship on Friday "})
            for member in (alice, bob):
                changed = await member.until("topic")
                assert changed["room"] == "Dev" and changed["topic"] == "Ship on Friday"
                assert changed["username"] == "alice" and isinstance(changed["id"], int)
            assert await settle(carol) == []
            listed = await ask(carol, {"type": "rooms"})
            dev = next(r for r in listed["rooms"] if r["room"] == "Dev")
            assert dev == {
                "room": "Dev",
                "users": 2,
                "topic": "Ship on Friday",
                "topic_by": "alice",
                "topic_at": changed["timestamp"],
            }

            echo = await say(bob, "in dev", "Dev")
            assert echo["room"] == "Dev"
            assert (await alice.until("chat"))["id"] == echo["id"]
            assert chats(await settle(carol)) == []

            again = await join_room(bob, "DEV")  # already in: a reminder, no notices
            assert again["users"] == ["alice", "bob"] and again["topic"] == "Ship on Friday"
            assert await settle(alice) == []

            await bob.send({"type": "leave_room", "room": "dev"})
            assert await bob.until("leave_room") == {"type": "leave_room", "room": "Dev"}
            gone = await alice.until("user_left")
            assert gone["room"] == "Dev" and gone["username"] == "bob"
            assert await settle(carol) == []
            listed = await ask(bob, {"type": "rooms"})
            dev = next(r for r in listed["rooms"] if r["room"] == "Dev")
            assert (dev["users"], dev["topic"], dev["topic_by"]) == (1, "Ship on Friday", "alice")
            assert chats(await settle(bob)) == []

            await alice.send({"type": "chat", "room": "dev", "message": "bob is gone"})
            await alice.until("chat")
            assert chats(await settle(bob)) == []

    asyncio.run(scenario())


def test_room_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await join_room(alice, "dev")
            assert await error_for(bob, {"type": "chat", "room": "nowhere", "message": "x"}) == (
                "unknown_room"
            )
            assert await error_for(bob, {"type": "chat", "room": "dev", "message": "x"}) == (
                "not_in_room"
            )
            assert await error_for(bob, {"type": "topic", "room": "dev", "topic": "x"}) == (
                "not_in_room"
            )
            assert await error_for(bob, {"type": "history", "room": "dev"}) == "not_in_room"
            assert await error_for(bob, {"type": "search", "room": "dev", "query": "x"}) == (
                "not_in_room"
            )
            assert await error_for(bob, {"type": "leave_room", "room": "dev"}) == "not_in_room"
            assert await error_for(bob, {"type": "leave_room", "room": "nowhere"}) == (
                "unknown_room"
            )
            for bad in ("bad name!", "", "#", "x" * 33, "a/b"):
                assert await error_for(bob, {"type": "join_room", "room": bad}) == "invalid_room"
            assert await error_for(bob, {"type": "leave_room", "room": "general"}) == (
                "invalid_room"
            )
            assert await error_for(
                bob, {"type": "topic", "room": "general", "topic": "x" * 301}
            ) == ("invalid_field")
            assert await error_for(bob, {"type": "search", "room": "general", "query": " "}) == (
                "invalid_field"
            )
            # None of that reached alice, and bob is still fine.
            assert chats(await settle(alice)) == []
            assert (await say(bob, "still here"))["username"] == "bob"

    asyncio.run(scenario())


# --------------------------------------------------------------------------- history


def test_joining_replays_recent_history_marked_as_history(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=5, **FAST) as server:
            (alice,) = await joined(server.port, "alice")
            said = [await say(alice, f"general {i}") for i in range(8)]
            await join_room(alice, "dev")
            in_dev = [await say(alice, f"dev {i}", "dev") for i in range(3)]

            bob = await LineClient.connect(server.port)
            await bob.join("bob")
            replay = [await bob.json() for _ in range(5)]
            assert all(m["history"] is True for m in replay)
            assert [m["id"] for m in replay] == [m["id"] for m in said[-5:]]
            assert [{**m, "history": False} for m in replay] == [
                {**m, "history": False} for m in said[-5:]
            ]
            assert chats(await settle(bob)) == []

            assert (await join_room(bob, "dev"))["users"] == ["alice", "bob"]
            replay = [await bob.json() for _ in range(3)]
            assert [m["id"] for m in replay] == [m["id"] for m in in_dev]
            assert all(m["history"] is True and m["room"] == "dev" for m in replay)

        # After a restart the replay comes from the file.
        async with running_server(tmp_path, history_on_join=5, **FAST) as server:
            carol = await LineClient.connect(server.port)
            await carol.join("carol")
            replay = [await carol.json() for _ in range(5)]
            assert [m["id"] for m in replay] == [m["id"] for m in said[-5:]]
            assert all(m["history"] is True for m in replay)

    asyncio.run(scenario())


def test_history_paging_and_search_over_the_wire(tmp_path: Path) -> None:
    total = 1200

    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            for i in range(total):
                text = f"message {i}" + (" with a needle" if i % 97 == 0 else "")
                await alice.send({"type": "chat", "message": text})
            sent = [await alice.until("chat") for _ in range(total)]
            from_bob = await say(bob, "from bob")
            assert (await alice.until("chat"))["id"] == from_bob["id"]
            await join_room(alice, "dev")
            await say(alice, "a needle in dev", "dev")
            expected = [m["id"] for m in sent] + [from_bob["id"]]

            # backwards
            pages: list[list[dict[str, Any]]] = []
            page = await ask(bob, {"type": "history", "room": "general", "limit": 100})
            while page["messages"]:
                assert page["room"] == "general"
                pages.insert(0, page["messages"])
                before = page["messages"][0]["id"]
                page = await ask(
                    bob, {"type": "history", "room": "general", "before": before, "limit": 100}
                )
            backwards = [m for chunk in pages for m in chunk]
            assert [m["id"] for m in backwards] == expected
            assert all(m["history"] is True and m["type"] == "chat" for m in backwards)
            assert backwards[5] == {**sent[5], "history": True}

            # forwards, asking for more than the cap
            forwards: list[dict[str, Any]] = []
            after = 0
            while True:
                page = await ask(
                    bob, {"type": "history", "room": "general", "after": after, "limit": 10_000}
                )
                if not page["messages"]:
                    break
                assert len(page["messages"]) <= MAX_PAGE
                forwards.extend(page["messages"])
                after = page["messages"][-1]["id"]
            assert [m["id"] for m in forwards] == expected
            first = await ask(bob, {"type": "history", "room": "general", "limit": 10_000})
            assert len(first["messages"]) == MAX_PAGE

            found = await ask(bob, {"type": "search", "room": "general", "query": "NEEDLE"})
            assert found["query"] == "NEEDLE" and found["room"] == "general"
            assert [m["id"] for m in found["messages"]] == [
                m["id"] for m in sent if "needle" in m["message"]
            ]
            assert all(m["history"] is True for m in found["messages"])
            for query in ['"', "needle OR", "AND", "NEAR(", "*", "'; --", "-needle", "a:b"]:
                reply = await ask(bob, {"type": "search", "room": "general", "query": query})
                assert reply["query"] == query
            dev = await ask(alice, {"type": "search", "room": "dev", "query": "needle"})
            assert [m["message"] for m in dev["messages"]] == ["a needle in dev"]

    asyncio.run(scenario())


# --------------------------------------------------------------------------- privates


def test_private_messages_are_stored_for_their_two_parties_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=50, **FAST) as server:
            alice, bob, carol = await joined(server.port, "alice", "bob", "carol")
            start = (await say(carol, "public before"))["id"]
            for client in (alice, bob):
                assert (await client.until("chat"))["id"] == start
            await alice.send({"type": "private", "target": "bob", "message": "secret one"})
            one = await alice.until("private")
            assert (await bob.until("private")) == one
            await bob.send({"type": "private", "target": "alice", "message": "secret two"})
            two = await bob.until("private")
            assert (await alice.until("private")) == two
            assert await settle(carol) == []  # nothing at all reached carol
            public = await say(carol, "public after")
            for client in (alice, bob):
                assert (await client.until("chat"))["id"] == public["id"]

            history = await ask(carol, {"type": "history", "room": "general"})
            assert all(m["type"] == "chat" for m in history["messages"])
            found = await ask(alice, {"type": "search", "room": "general", "query": "secret"})
            assert found["messages"] == []

            # Everyone comes back with since=start. They are guests: a name proves nothing,
            # so nobody is replayed a private message (accounts will be).
            for client in (alice, bob, carol):
                await client.send({"type": "quit"})
                assert await client.closed()
            for name in ("alice", "bob", "carol"):
                client = await LineClient.connect(server.port)
                await client.join(name, since=start)
                assert [m["id"] for m in chats(await settle(client))] == [public["id"]]
                await client.close()

    asyncio.run(scenario())


# --------------------------------------------------------------------------- reconnect


async def wait_gone(observer: LineClient, name: str) -> None:
    """Until the observer is told `name` left general (the server has seen the drop)."""
    while True:
        left = await observer.until("user_left")
        if left["username"] == name and left["room"] == "general":
            return


def test_reconnect_with_since_gets_every_missed_message_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=3, **FAST) as server:
            alice, bob, carol = await joined(server.port, "alice", "bob", "carol")
            for client in (alice, bob):
                await join_room(client, "dev")
            await join_room(carol, "ops")
            last_seen = (await say(bob, "before the drop"))["id"]
            assert (await alice.until("chat"))["id"] == last_seen

            await alice.close()
            await wait_gone(bob, "alice")
            missed: list[int] = []
            for i in range(30):
                missed.append((await say(bob, f"general {i}"))["id"])
                missed.append((await say(bob, f"dev {i}", "dev"))["id"])
                await say(carol, f"ops {i}", "ops")  # alice is not in ops
            await bob.send({"type": "private", "target": "carol", "message": "not for alice"})
            await bob.until("private")

            alice = await LineClient.connect(server.port)
            welcome = await alice.join("alice", since=last_seen, rooms=["dev"])
            assert welcome["rooms"] == ["general", "dev"]
            assert welcome["last_id"] >= missed[-1]
            got = chats(await settle(alice))
            assert [m["id"] for m in got] == missed
            assert all(m["history"] is True for m in got)
            assert {m["room"] for m in got} == {"general", "dev"}

            live = await say(bob, "welcome back", "dev")
            seen = await alice.until("chat")
            assert seen["id"] == live["id"] and "history" not in seen
            assert chats(await settle(alice)) == []

    asyncio.run(scenario())


def test_rejoin_while_others_keep_talking_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    burst = 150

    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await join_room(alice, "dev")
            await join_room(bob, "dev")
            last_seen = (await say(bob, "start"))["id"]
            await alice.until("chat")

            for round_ in range(4):
                await alice.close()
                await wait_gone(bob, "alice")
                halfway = asyncio.Event()

                async def talk(round_: int = round_, halfway: asyncio.Event = halfway) -> None:
                    for i in range(burst):
                        room = "dev" if i % 3 == 0 else "general"
                        await bob.send({"type": "chat", "room": room, "message": f"r{round_} m{i}"})
                        if i == burst // 3:
                            halfway.set()
                        await asyncio.sleep(0)
                    await bob.send({"type": "chat", "message": f"r{round_} done"})

                talker = asyncio.create_task(talk())
                await halfway.wait()
                alice = await LineClient.connect(server.port)
                await alice.send(
                    {"type": "join", "username": "alice", "since": last_seen, "rooms": ["dev"]}
                )
                await talker
                echoes: list[int] = []
                while len(echoes) < burst + 1:
                    echo = await bob.json()
                    if echo["type"] == "chat":
                        echoes.append(echo["id"])

                got: list[dict[str, Any]] = []
                while True:
                    obj = await alice.json()
                    if obj["type"] == "chat":
                        got.append(obj)
                        if obj["message"] == f"r{round_} done":
                            break
                ids = [m["id"] for m in got]
                assert ids == echoes, round_  # each once, in order, no gap
                # Replayed ones come first, then live ones.
                flags = [bool(m.get("history")) for m in got]
                assert flags == sorted(flags, reverse=True)
                last_seen = ids[-1]
                assert chats(await settle(alice)) == []

    asyncio.run(scenario())


def test_rooms_topics_and_history_survive_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            for room in ("dev", "ops", "Design"):
                await join_room(alice, room)
            await join_room(bob, "dev")
            await alice.send({"type": "leave_room", "room": "ops"})
            await alice.until("leave_room")
            await alice.send({"type": "topic", "room": "design", "topic": "pixels"})
            await alice.until("topic")
            last_seen = (await say(bob, "see you later", "dev"))["id"]
            await alice.until("chat")
            before_restart = (await say(bob, "said before the restart"))["id"]

        async with running_server(tmp_path, history_on_join=0, **FAST) as server:
            bob = await LineClient.connect(server.port)
            await bob.join("bob", rooms=["dev"])
            await bob.until("join_room")
            after_restart = await say(bob, "said after the restart", "dev")
            assert after_restart["id"] > before_restart
            alice = await LineClient.connect(server.port)
            # A guest keeps no rooms on the server; a reconnecting client names them.
            welcome = await alice.join("alice", since=last_seen, rooms=["design", "dev"])
            assert welcome["rooms"] == ["general", "Design", "dev"]
            rooms: dict[str, dict[str, Any]] = {}
            seen = await settle(alice)
            for obj in seen:
                if obj["type"] == "join_room":
                    rooms[obj["room"]] = obj
            assert rooms["Design"]["topic"] == "pixels"
            assert set(rooms) == {"Design", "dev"}
            assert [m["id"] for m in chats(seen)] == [before_restart, after_restart["id"]]
            listed = await ask(alice, {"type": "rooms"})
            # ops was left and never used: it is gone; the others were used or are in use
            assert "ops" not in [r["room"] for r in listed["rooms"]]
            assert {"room": "dev", "users": 2, "topic": ""} in listed["rooms"]

    asyncio.run(scenario())


class LazyCommitStore(MemoryStore):
    """Commits only when awaited, one loop turn later: how a networked store behaves."""

    def commit_now(self) -> bool:
        return False

    async def commit(self) -> None:
        await asyncio.sleep(0.002)  # a round trip to a database server
        MemoryStore.commit_now(self)


def test_rejoin_has_no_gap_when_commits_lag_behind(tmp_path: Path) -> None:
    burst = 200

    async def scenario() -> None:
        config = ServerConfig(host="127.0.0.1", port=0, data=":memory:", http_port=0)
        config.limits.message_rate = config.limits.command_rate = 0
        config.limits.history_on_join = 0
        server = ChatServer(config, store=LazyCommitStore())
        await server.start()
        try:
            alice, bob = await joined(server.port, "alice", "bob")
            last_seen = (await say(bob, "start"))["id"]
            await alice.until("chat")
            for round_ in range(5):
                await alice.close()
                await wait_gone(bob, "alice")
                for i in range(burst):
                    await bob.send({"type": "chat", "message": f"r{round_} m{i}"})
                alice = await LineClient.connect(server.port)
                await alice.send({"type": "join", "username": "alice", "since": last_seen})
                for i in range(burst):
                    await bob.send({"type": "chat", "message": f"r{round_} n{i}"})
                await bob.send({"type": "chat", "message": f"r{round_} done"})
                echoes: list[int] = []
                while len(echoes) < 2 * burst + 1:
                    echo = await bob.json()
                    if echo["type"] == "chat":
                        echoes.append(echo["id"])
                got: list[int] = []
                while True:
                    obj = await alice.json()
                    if obj["type"] == "chat":
                        got.append(obj["id"])
                        if obj["message"] == f"r{round_} done":
                            break
                assert got == echoes, round_
                last_seen = got[-1]
        finally:
            await server.shutdown()

    asyncio.run(scenario())


def test_a_failed_commit_holds_the_echo_and_is_retried(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            store = server.store
            assert isinstance(store, SQLiteStore)
            store.db.execute(
                "CREATE TEMP TRIGGER fail_inserts BEFORE INSERT ON main.messages"
                " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
            )
            await alice.send({"type": "chat", "message": "during the trouble"})
            # Nothing that depends on the message leaves while it is not durable: the
            # pong queued behind the echo waits too.
            await alice.send({"type": "ping", "token": "behind"})
            async with asyncio.timeout(5):  # until the chat is buffered and its commit failed
                while not store.pending:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.01)
            assert store.committed_id == 0
            store.db.execute("DROP TRIGGER temp.fail_inserts")
            echo = await alice.until("chat", timeout=10)
            assert echo["message"] == "during the trouble"
            assert (await alice.until("pong"))["token"] == "behind"
            assert (await bob.until("chat", timeout=10))["id"] == echo["id"]
            page = await ask(bob, {"type": "history", "room": "general"})
            assert [m["id"] for m in page["messages"]] == [echo["id"]]

    asyncio.run(scenario())
