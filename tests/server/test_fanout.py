"""The batched fan-out keeps every connection's order and membership exact.

Runs (back-to-back room deliveries queued as one) and presence logs (join/leave notices
of a big room written on a tick) are invisible to clients: these tests check that each
client gets what it would get unbatched, once, in order. `PRESENCE_AUDIENCE` is lowered
so that a handful of real clients make a "big" room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import orjson
import pytest

from chinwag.config import ListenSpec
from chinwag.server import fanout
from tests.helpers import TIMEOUT, LineClient, running_server


def on_loop(scenario: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """A synchronous test that runs the scenario on a fresh event loop."""

    def test() -> None:
        asyncio.run(scenario())

    test.__name__, test.__doc__ = scenario.__name__, scenario.__doc__
    return test


@pytest.fixture
def big_rooms(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rooms of more than 3 members count as big."""
    monkeypatch.setattr(fanout, "PRESENCE_AUDIENCE", 3)
    yield


async def lines_until(client: LineClient, kind: str) -> list[dict[str, Any]]:
    """Every native message up to and including the first of type `kind`."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            obj = await client.json()
            seen.append(obj)
            if obj.get("type") == kind:
                return seen


async def sync(client: LineClient) -> list[dict[str, Any]]:
    """Everything the client is owed now (a ping's pong comes after it)."""
    await client.send({"type": "ping", "token": "sync"})
    return (await lines_until(client, "pong"))[:-1]


def kinds(seen: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(type, text) of messages, (type, username) of the rest."""
    texts = ("chat", "private")
    return [(m["type"], m["message"] if m["type"] in texts else m.get("username")) for m in seen]


@on_loop
async def test_a_run_ends_before_the_sender_leaves_the_room() -> None:
    async with running_server(history_on_join=0) as server:
        sam, tia = await LineClient.connect(server.port), await LineClient.connect(server.port)
        await sam.join("sam")
        await tia.join("tia")
        for client in (sam, tia):
            await client.send({"type": "join_room", "room": "r"})
            await client.until("join_room")
        await sam.until("user_joined")  # tia joined r
        one_write = b"".join(
            orjson.dumps(obj) + b"\n"
            for obj in (
                {"type": "chat", "room": "r", "message": "1"},
                {"type": "chat", "room": "r", "message": "2"},
                {"type": "leave_room", "room": "r"},
                {"type": "chat", "room": "general", "message": "3"},
            )
        )
        await sam.send_raw(one_write)
        sam_saw = await lines_until(sam, "chat") + await lines_until(sam, "chat")
        sam_saw += await lines_until(sam, "chat")
        assert [(m["type"], m.get("message")) for m in sam_saw] == [
            ("chat", "1"),
            ("chat", "2"),
            ("leave_room", None),
            ("chat", "3"),
        ]
        tia_saw = [await tia.json() for _ in range(4)]
        assert kinds(tia_saw) == [
            ("chat", "1"),
            ("chat", "2"),
            ("user_left", "sam"),
            ("chat", "3"),
        ]
        ids = [m["id"] for m in tia_saw if m["type"] == "chat"]
        assert ids == sorted(ids)


@pytest.mark.usefixtures("big_rooms")
@on_loop
async def test_big_room_presence_reaches_each_member_once_in_order() -> None:
    async with running_server(history_on_join=0) as server:
        names = [f"u{i}" for i in range(8)]
        clients: list[LineClient] = []
        for name in names:
            client = await LineClient.connect(server.port)
            await client.join(name)
            clients.append(client)
        for i, client in enumerate(clients):
            seen: list[str] = []
            while len(seen) < len(names) - 1 - i:
                notice = await client.until("user_joined")
                seen.append(notice["username"])
            assert seen == names[i + 1 :]
            assert await sync(client) == []  # nothing twice, nothing else


@pytest.mark.usefixtures("big_rooms")
@on_loop
async def test_big_room_presence_goes_out_before_what_follows_it() -> None:
    async with running_server(history_on_join=0) as server:
        clients = [await LineClient.connect(server.port) for _ in range(5)]
        for i, client in enumerate(clients):
            await client.join(f"u{i}")
        # u4's join is in general's presence log (5 members > 3) until the tick; a private
        # message sent now must not overtake it.
        await clients[1].send({"type": "private", "target": "u0", "message": "psst"})
        seen = await lines_until(clients[0], "private")
        assert kinds(seen) == [("user_joined", f"u{i}") for i in range(1, 5)] + [
            ("private", "psst")
        ]


@pytest.mark.usefixtures("big_rooms")
@on_loop
async def test_big_room_leave_and_rejoin_between_ticks() -> None:
    # The tick never comes by itself here: the test calls it, so the whole exchange surely
    # falls inside one presence window (an ordering barrier, not a timing guess).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fanout, "presence_delay", lambda audience: 3600.0)
        async with running_server(history_on_join=0) as server:
            clients = [await LineClient.connect(server.port) for _ in range(5)]
            for i, client in enumerate(clients):
                await client.join(f"u{i}")
                await client.send({"type": "join_room", "room": "r"})
                await client.until("join_room")
            server.fanout.presence_tick()  # the joins' tick
            for client in clients:
                await sync(client)
            leaver, other, stayer = clients[0], clients[4], clients[1]
            for client in (other, leaver):
                await client.send({"type": "leave_room", "room": "r"})
            # The leaver was in r when u4 left: it hears that, before its own leave_room.
            assert kinds([m for m in await lines_until(leaver, "leave_room")]) == [
                ("user_left", "u4"),
                ("leave_room", None),
            ]
            await other.until("leave_room")
            for client in (other, leaver):
                await client.send({"type": "join_room", "room": "r"})
                rejoined = await client.until("join_room")
            assert set(rejoined["users"]) == {f"u{i}" for i in range(5)}
            server.fanout.presence_tick()  # both rejoins were answered: handled before this
            # Away while u4 came back, the leaver hears none of that, nor of its own leaving.
            assert [m for m in await sync(leaver) if m.get("room") == "r"] == []
            assert kinds([m for m in await sync(stayer) if m.get("room") == "r"]) == [
                ("user_left", "u4"),
                ("user_left", "u0"),
                ("user_joined", "u4"),
                ("user_joined", "u0"),
            ]


@pytest.mark.usefixtures("big_rooms")
@on_loop
async def test_big_room_presence_in_another_dialect() -> None:
    typed_port = ListenSpec(0, "typed")
    async with running_server(history_on_join=0, listen=[typed_port]) as server:
        port = next(p for p, d in server.ports.items() if d == "typed")
        typed = await LineClient.connect(port)
        await typed.send_line("tina")
        assert "tina" in (await typed.json())["message"]
        natives = [await LineClient.connect(server.port) for _ in range(5)]
        for i, client in enumerate(natives):
            await client.join(f"n{i}")
        for i in range(5):
            line = await typed.json()
            assert line["type"] == "system" and f"n{i} joined the chat" in line["message"]
