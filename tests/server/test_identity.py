"""Identity over real sockets: a name proves nothing, so a later holder inherits nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.helpers import LineClient, joined, running_server


def test_a_new_connection_under_a_freed_name_is_replayed_no_private_message(
    tmp_path: Path,
) -> None:
    """The bug: `{"type":"join","username":"alice","since":0}` from anyone used to replay
    alice's private messages and put the joiner in alice's saved rooms."""

    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await alice.send({"type": "join_room", "room": "plans"})
            await alice.until("join_room")
            await bob.send({"type": "private", "target": "alice", "message": "the code is 1234"})
            assert (await alice.until("private"))["message"] == "the code is 1234"
            await bob.until("private")
            await bob.send({"type": "chat", "message": "public words"})
            public = await bob.until("chat")
            await alice.until("chat")
            await alice.send({"type": "quit"})
            assert await alice.closed()
            await bob.until("user_left")

            impostor = await LineClient.connect(server.port)
            welcome = await impostor.join("alice", since=0)
            assert welcome["rooms"] == ["general"]
            seen = await impostor.settle()  # everything it was sent, nothing skipped
            assert seen == [{**public, "history": True}]

    asyncio.run(scenario())


def test_a_restart_does_not_give_a_name_its_old_rooms(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            (alice,) = await joined(server.port, "alice")
            await alice.send({"type": "join_room", "room": "plans"})
            await alice.until("join_room")
        async with running_server(tmp_path) as server:
            someone = await LineClient.connect(server.port)
            welcome = await someone.join("alice")
            assert welcome["rooms"] == ["general"]
            assert await someone.settle() == []

    asyncio.run(scenario())
