"""Idle and surplus connections: nothing holds a connection and a name for ever without a
word, and past --max-connections the server says it is full (issue 10, item 5)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chinwag.client.library import ChatClient
from chinwag.client.status import ReconnectPolicy
from chinwag.config import ListenSpec
from tests.helpers import LineClient, running_server

QUICK = {"keepalive_interval": 0.05, "keepalive_timeout": 5.0, "idle_timeout": 0.3}


async def lines_until_closed(client: LineClient) -> list[bytes]:
    lines: list[bytes] = []
    async with asyncio.timeout(10):
        while True:
            try:
                lines.append(await client.line())
            except EOFError:
                return lines


def test_a_native_client_that_never_answers_pings_is_closed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **QUICK) as server:
            silent = await LineClient.connect(server.port)
            await silent.join("silent")
            lines = await lines_until_closed(silent)
            assert b'"type":"ping"' in lines[0]  # it was asked
            assert b'"type":"goodbye"' in lines[-1] and b"without a word" in lines[-1]

    asyncio.run(scenario())


def test_plain_port_and_blank_line_clients_time_out_too(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, listen=[ListenSpec(0, "plain")], **QUICK) as server:
            plain_port = next(p for p, d in server.ports.items() if d == "plain")
            greeted = await LineClient.connect(plain_port)  # joined at once, never says a thing
            blank = await LineClient.connect(server.port)
            await blank.send_raw(b"\n")  # detected as plain and joined
            for client in (greeted, blank):
                lines = await lines_until_closed(client)
                assert b"without a word" in lines[-1]

    asyncio.run(scenario())


def test_a_client_that_answers_pings_stays(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **QUICK) as server:
            client = ChatClient(reconnect=ReconnectPolicy(enabled=False))
            await client.connect("127.0.0.1", server.port, "polite")
            async with asyncio.timeout(10):  # long past idle_timeout, counted in pings
                while client.keepalives_answered < 20:
                    await asyncio.sleep(0.02)
            assert client.connected and await client.ping() > 0
            await client.close()

    asyncio.run(scenario())


def test_past_max_connections_the_server_says_it_is_full(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, max_connections=3) as server:
            first = [await LineClient.connect(server.port) for _ in range(3)]
            for i, client in enumerate(first):
                await client.join(f"u{i}")
            extra = await LineClient.connect(server.port)
            refusal = await extra.json()
            assert refusal == {
                "type": "error",
                "code": "too_many_connections",
                "message": "The server is full; try again later",
            }
            assert await extra.closed()
            await first[0].close()
            await first[1].until("user_left")  # the server has seen it go
            again = await LineClient.connect(server.port)
            await again.join("back")

    asyncio.run(scenario())


def test_a_thousand_silent_sockets_are_closed_by_the_join_timeout_while_chat_goes_on(
    tmp_path: Path,
) -> None:
    """Connections that never send a first line hold no name, cost the others nothing and
    are all closed once `join_timeout` has passed (issue 11)."""

    async def scenario() -> None:
        async with running_server(tmp_path, join_timeout=1.0) as server:
            silent = []
            for _ in range(1000):
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                silent.append(LineClient(reader, writer))
            alice = await LineClient.connect(server.port)
            await alice.join("alice")
            await alice.send({"type": "chat", "message": "anyone?"})
            assert (await alice.until("chat"))["message"] == "anyone?"
            async with asyncio.timeout(20):
                for lurker in silent:
                    assert await lurker.closed(timeout=20)
            assert len(server.connections) == 1  # alice, who joined in time
            await alice.send({"type": "chat", "message": "still here"})
            assert (await alice.until("chat"))["message"] == "still here"
            for lurker in silent:
                await lurker.close()

    asyncio.run(scenario())
