"""Room floods: creation is limited per user, per address and in total, checked before a
room is made; the room list comes in pages; rooms never used go away (issue 10, item 3)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.helpers import LineClient, joined, running_server

OPEN = {"message_rate": 0, "command_rate": 0, "history_on_join": 0}


async def make(client: LineClient, room: str) -> dict[str, Any]:
    """Join (and so create) a room: its join_room answer, or the error."""
    await client.send({"type": "join_room", "room": room})
    while True:
        reply = await client.json()
        if reply["type"] in ("join_room", "error"):
            return reply


async def all_rooms(client: LineClient, limit: int = 100) -> list[str]:
    names: list[str] = []
    after: str | None = None
    while True:
        request: dict[str, Any] = {"type": "rooms", "limit": limit}
        if after is not None:
            request["after"] = after
        await client.send(request)
        page = await client.until("rooms")
        assert len(page["rooms"]) <= limit
        names += [r["room"] for r in page["rooms"]]
        after = page.get("next")
        if after is None:
            return names


def test_one_user_may_make_only_so_many_rooms_an_hour(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, rooms_per_hour=3, limit_exempt=(), **OPEN) as server:
            (alice,) = await joined(server.port, "alice")
            for i in range(3):
                assert (await make(alice, f"r{i}"))["type"] == "join_room"
            refused = await make(alice, "r3")
            assert refused["type"] == "error" and refused["code"] == "rate_limited"
            assert "r3" not in await all_rooms(alice)  # checked before the room was made
            assert (await make(alice, "r0"))["type"] == "join_room"  # joining is not making

    asyncio.run(scenario())


def test_an_address_may_make_only_so_many_rooms_an_hour_whatever_its_names(tmp_path: Path) -> None:
    """The flood of the issue: 25 connections made 31,505 rooms in 55 s."""

    async def scenario() -> None:
        settings = {
            "rooms_per_hour": 1000,
            "rooms_per_address_hour": 30,
            "limit_exempt": (),
            "max_per_ip": 0,
        }
        async with running_server(tmp_path, **settings, **OPEN) as server:
            clients = [await LineClient.connect(server.port) for _ in range(25)]
            for i, client in enumerate(clients):
                await client.join(f"flooder{i}")
            made = refused = 0
            for round_ in range(8):
                for i, client in enumerate(clients):
                    reply = await make(client, f"f{i}x{round_}")
                    if reply["type"] == "join_room":
                        made += 1
                    else:
                        assert reply["code"] == "rate_limited"
                        refused += 1
            assert made == 30 and refused == 25 * 8 - 30
            assert len(await all_rooms(clients[0])) == 31  # general + the 30

    asyncio.run(scenario())


def test_the_server_holds_at_most_max_rooms(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, max_rooms=4, **OPEN) as server:
            (alice,) = await joined(server.port, "alice")
            for room in ("a", "b", "c"):
                assert (await make(alice, room))["type"] == "join_room"
            refused = await make(alice, "d")
            assert refused["type"] == "error" and refused["code"] == "room_limit"
            await alice.send({"type": "join", "username": "x", "rooms": ["e"]})
            assert (await alice.until("error"))["code"] == "already_joined"

    asyncio.run(scenario())


def test_the_room_list_comes_in_pages(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = {"rooms_per_hour": 1000, "max_rooms_per_user": 300}
        async with running_server(tmp_path, **settings, **OPEN) as server:
            (alice,) = await joined(server.port, "alice")
            names = [f"room{i:03d}" for i in range(250)]
            for name in names:
                assert (await make(alice, name))["type"] == "join_room"
                await alice.send({"type": "chat", "room": name, "message": "used"})
                await alice.until("chat")
            listed = await all_rooms(alice, limit=100)
            assert listed == sorted(["general", *names], key=str.casefold)
            await alice.send({"type": "rooms"})
            first = await alice.until("rooms")
            assert len(first["rooms"]) == 100 and first["next"] == listed[99]

    asyncio.run(scenario())


def test_rooms_never_used_go_away_when_the_last_member_leaves(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **OPEN) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            for room in ("quiet", "chatty", "titled"):
                await make(alice, room)
            await alice.send({"type": "chat", "room": "chatty", "message": "something"})
            await alice.until("chat")
            await alice.send({"type": "topic", "room": "titled", "topic": "a topic"})
            await alice.until("topic")
            await make(bob, "quiet")
            await alice.send({"type": "leave_room", "room": "quiet"})
            await alice.until("leave_room")
            assert "quiet" in await all_rooms(alice)  # bob is still there
            await bob.close()
            await alice.until("user_left")  # bob's whole disconnect has been handled
            assert await all_rooms(alice) == ["chatty", "general", "titled"]
            await alice.close()
        async with running_server(tmp_path, **OPEN) as server:
            (carol,) = await joined(server.port, "carol")
            assert await all_rooms(carol) == ["chatty", "general", "titled"]

    asyncio.run(scenario())
