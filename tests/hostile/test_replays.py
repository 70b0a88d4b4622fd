"""Replays are streamed as the client reads them, never built whole into a buffer the
client is then punished for (issue 10, item 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from chinwag.config import ListenSpec
from tests.helpers import LineClient, joined, running_server

BIG = 65_000  # characters: a chat line just under the 64 KiB line limit
FAST = {"message_rate": 0, "command_rate": 0}


async def say_big(client: LineClient, count: int, room: str = "general") -> list[int]:
    for i in range(count):
        text = f"{i:03d}" + "x" * (BIG - 3)
        await client.send({"type": "chat", "room": room, "message": text})
    return [(await client.until("chat"))["id"] for _ in range(count)]


def test_twenty_big_messages_do_not_lock_joiners_out(tmp_path: Path) -> None:
    """20 x 65 KB is over the 1 MiB output bound: every joiner used to be dropped."""

    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=20, **FAST) as server:
            (alice,) = await joined(server.port, "alice")
            ids = await say_big(alice, 20)
            for name in ("bob", "carol"):
                client = await LineClient.connect(server.port)
                await client.join(name)
                seen = await client.settle()
                assert [m["id"] for m in seen if m["type"] == "chat"] == ids
                assert all(m["history"] is True and len(m["message"]) == BIG for m in seen)
                await client.close()
        async with running_server(tmp_path, history_on_join=20, **FAST) as server:
            dave = await LineClient.connect(server.port)
            await dave.join("dave")  # after a restart: the rings come back from the store
            assert [m["id"] for m in await dave.settle() if m["type"] == "chat"] == ids

    asyncio.run(scenario())


@pytest.mark.parametrize("dialect", ["plain", "typed", "basic", "pipe"])
def test_big_replays_reach_every_dialect(tmp_path: Path, dialect: str) -> None:
    async def scenario() -> None:
        spec = ListenSpec(0, dialect)
        async with running_server(tmp_path, history_on_join=20, listen=[spec], **FAST) as server:
            (alice,) = await joined(server.port, "alice")
            await say_big(alice, 20)
            port = next(p for p, d in server.ports.items() if d == dialect)
            client = await LineClient.connect(port)
            if dialect == "typed":
                await client.send_line("tess")
            elif dialect == "basic":
                await client.send({"username": "bea", "message": ""})
            elif dialect == "pipe":
                await client.send_line("USER|pip")
            big_lines = 0
            async with asyncio.timeout(10):
                while big_lines < 20:
                    line = await client.line()
                    big_lines += len(line) > BIG
            await client.send_line("/quit" if dialect == "plain" else "QUIT")
            await client.close()

    asyncio.run(scenario())


def test_a_reconnect_that_missed_four_thousand_messages_gets_them_all(tmp_path: Path) -> None:
    """Anything over 1 MiB of missed messages (about 3,800 short ones) used to drop the client."""
    count = 4000

    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            start = (await say_plain(bob, "before"))["id"]
            await alice.until("chat")
            await alice.close()
            await bob.until("user_left")
            for i in range(count):
                await bob.send({"type": "chat", "message": f"missed message number {i:05d} " * 8})
            sent = [(await bob.until("chat"))["id"] for _ in range(count)]
            alice = await LineClient.connect(server.port)
            await alice.send({"type": "join", "username": "alice", "since": start})
            assert (await alice.json())["type"] == "welcome"
            await bob.send({"type": "chat", "message": "live after"})
            got: list[dict[str, Any]] = []
            async with asyncio.timeout(30):
                while not got or got[-1]["message"] != "live after":
                    obj = await alice.json()
                    if obj["type"] == "chat":
                        got.append(obj)
            assert [m["id"] for m in got[:-1]] == sent
            assert all(m["history"] for m in got[:-1]) and "history" not in got[-1]

    asyncio.run(scenario())


async def say_plain(client: LineClient, text: str) -> dict[str, Any]:
    await client.send({"type": "chat", "message": text})
    return await client.until("chat")


def test_a_client_that_reads_slowly_gets_its_replay_slowly(tmp_path: Path) -> None:
    """A replay larger than the output bound reaches a client that stalls mid-way."""

    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            start = (await say_plain(bob, "before"))["id"]
            await alice.until("chat")
            await alice.close()
            await bob.until("user_left")
            ids = await say_big(bob, 40)  # 2.6 MB to replay
            slow = await LineClient.connect(server.port)
            slow.writer.transport.pause_reading()  # type: ignore[attr-defined]
            await slow.send({"type": "join", "username": "alice", "since": start})
            await asyncio.sleep(0.3)  # the server fills what the socket takes, then waits
            slow.writer.transport.resume_reading()  # type: ignore[attr-defined]
            assert (await slow.json())["type"] == "welcome"
            got = [await slow.until("chat") for _ in ids]
            assert [m["id"] for m in got] == ids

    asyncio.run(scenario())


def test_history_pages_are_bounded_in_bytes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0, **FAST) as server:
            (alice,) = await joined(server.port, "alice")
            ids = await say_big(alice, 30)
            await alice.send({"type": "history", "room": "general", "limit": 500})
            page = await alice.until("history")
            got = [m["id"] for m in page["messages"]]
            assert 1 <= len(got) < 30 and got == ids[-len(got) :]  # the newest that fit
            seen = got
            while len(seen) < 30:
                await alice.send({"type": "history", "room": "general", "before": seen[0]})
                seen = [m["id"] for m in (await alice.until("history"))["messages"]] + seen
            assert seen == ids
            await alice.send({"type": "history", "room": "general", "after": 0, "limit": 500})
            forwards = [m["id"] for m in (await alice.until("history"))["messages"]]
            assert forwards == ids[: len(forwards)] and len(forwards) < 30  # the oldest

    asyncio.run(scenario())
