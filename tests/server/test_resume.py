"""A guest takes its name back with the resume secret of its welcome: from a session the
server still holds (a connection that died without a goodbye), here or on another node;
nobody else can, and an account needs none (its login is its proof)."""

from __future__ import annotations

import asyncio

from tests.bus.test_presence import nodes, synced
from tests.helpers import LineClient, running_server


async def join(port: int, name: str, **extra: str) -> tuple[LineClient, dict[str, object]]:
    client = await LineClient.connect(port)
    await client.send({"type": "join", "username": name, **extra})
    return client, await client.json()


def test_a_guest_takes_its_name_back_with_its_secret_and_nobody_else_can():
    async def scenario() -> None:
        async with running_server() as server:
            first, welcome = await join(server.port, "alice")
            secret = welcome["resume"]
            assert isinstance(secret, str) and len(secret) >= 20
            other, refused = await join(server.port, "alice")
            assert refused["code"] == "name_taken"
            wrong, refused = await join(server.port, "alice", resume=secret[:-1] + "x")
            assert refused["code"] == "name_taken"
            second, again = await join(server.port, "alice", resume=secret)
            assert again["type"] == "welcome" and again["username"] == "alice", again
            assert again["resume"] == secret  # the same secret: it may come back again
            goodbye = await first.until("goodbye")
            assert "resumed on another connection" in str(goodbye["message"])
            assert await first.closed()
            await second.send({"type": "list_users"})
            users = await second.until("list_users")
            assert users["users"] == ["alice"]  # once
            for client in (other, wrong, second):
                await client.close()

    asyncio.run(scenario())


def test_an_accounts_welcome_carries_no_resume_secret():
    async def scenario() -> None:
        async with running_server() as server:
            client = await LineClient.connect(server.port)
            await client.send(
                {"type": "register", "username": "bob", "password": "correct horse battery"}
            )
            welcome = await client.until("welcome")
            assert welcome.get("account") == "bob" and "resume" not in welcome
            await client.close()

    asyncio.run(scenario())


def test_a_guest_resumes_on_another_node_and_the_first_node_signs_its_session_out():
    async def scenario() -> None:
        async with nodes(2) as (one, two):
            alice, welcome = await join(one.port, "alice")
            secret = str(welcome["resume"])
            await synced([one, two])
            taken, refused = await join(two.port, "alice")
            assert refused["code"] == "name_taken"  # held on node one
            back, again = await join(two.port, "alice", resume=secret)
            assert again["type"] == "welcome", again
            goodbye = await alice.until("goodbye")
            assert "resumed on another connection" in str(goodbye["message"])
            assert await alice.closed()
            await synced([one, two])
            await back.send({"type": "list_users"})
            assert (await back.until("list_users"))["users"] == ["alice"]
            for client in (taken, back):
                await client.close()

    asyncio.run(scenario())
