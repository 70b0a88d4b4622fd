"""Failover: a client given several servers goes on with the next when one stops, resuming
with `since`, and misses nothing; the line client reads several addresses.

The two servers are nodes of one chat in this process (tests.helpers.node_pair: one store
object, one in-process bus network); nodes over PostgreSQL and NATS share the same way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chinwag.client.library import ChatClient
from chinwag.client.line import _chat, ask_address, parse_servers
from chinwag.client.status import Disconnected, Reconnected, Reconnecting, ReconnectPolicy
from chinwag.client.tokens import TokenStore
from chinwag.errors import ConnectionClosed
from chinwag.protocol import events as ev
from tests.client.support import ScriptedTerminal, collect, expect, settle
from tests.client.test_reconnect import GatedClient
from tests.helpers import TIMEOUT, free_port, node_pair

HOST = "127.0.0.1"


def test_a_stopped_node_costs_a_reconnect_to_the_next_not_a_message():
    async def scenario() -> None:
        async with node_pair() as (one, two):
            alice = GatedClient()  # holds its reconnect until bob has talked meanwhile
            await alice.connect(HOST, one.port, "alice", failover=[(HOST, two.port)])
            assert (alice.host, alice.port) == (HOST, one.port)
            bob = ChatClient(reconnect=ReconnectPolicy(enabled=False))
            await bob.connect(HOST, two.port, "bob")
            await bob.chat("before")
            before = await expect(alice, ev.ChatMessage)  # across the nodes

            await one.shutdown()
            await expect(alice, ev.Goodbye)
            assert (await expect(alice, Disconnected)).reconnecting
            trying = await expect(alice, Reconnecting)
            assert trying.server == f"{HOST}:{two.port}"

            missed = [f"missed {i}" for i in range(5)]
            for text in missed:
                await bob.chat(text)
            await collect(bob, ev.ChatMessage, 1 + len(missed))  # echoed: stored
            alice.gate.set()
            back = await expect(alice, Reconnected, timeout=TIMEOUT * 2)
            assert back.since == before.id
            assert (alice.host, alice.port) == (HOST, two.port)

            live = [f"live {i}" for i in range(3)]
            for text in live:
                await bob.chat(text)
            await collect(bob, ev.ChatMessage, len(live))
            got = await collect(alice, ev.ChatMessage, len(missed) + len(live))
            assert [m.message for m in got] == missed + live
            assert [m.history for m in got] == [True] * len(missed) + [False] * len(live)
            assert not any(isinstance(e, ev.ChatMessage) for e in await settle(alice))
            assert alice.duplicates_dropped == 0
            await alice.chat("back on two")
            assert (await expect(bob, ev.ChatMessage)).message == "back on two"
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_a_connect_tries_the_next_address_when_one_cannot_be_reached():
    async def scenario() -> None:
        dead, also_dead = free_port(), free_port()
        async with node_pair() as (one, _two):
            client = ChatClient()
            welcome = await client.connect(HOST, dead, "carol", failover=[(HOST, one.port)])
            assert welcome.username == "carol"
            assert client.servers == [(HOST, dead), (HOST, one.port)]
            assert (client.host, client.port) == (HOST, one.port)
            await client.close()
        nobody = ChatClient()
        with pytest.raises(ConnectionClosed, match="no server could be reached") as caught:
            await nobody.connect(HOST, dead, "dave", failover=[(HOST, also_dead)])
        assert f"{HOST}:{dead}" in str(caught.value) and f"{HOST}:{also_dead}" in str(caught.value)

    asyncio.run(scenario())


def test_reconnects_go_round_the_servers():
    client = ChatClient()
    client.servers = [("a", 1), ("b", 2), ("c", 3)]
    client.host, client.port = "b", 2
    seen = []
    for _ in range(4):
        client._next_server()
        seen.append((client.host, client.port))
    assert seen == [("c", 3), ("a", 1), ("b", 2), ("c", 3)]
    alone = ChatClient()
    alone.servers = [("a", 1)]
    alone.host, alone.port = "a", 1
    alone._next_server()
    assert (alone.host, alone.port) == ("a", 1)


@pytest.mark.parametrize(
    ("text", "servers"),
    [
        ("chat.example", [("chat.example", None)]),
        ("chat.example:7000", [("chat.example", 7000)]),
        ("a:1,b:2, c", [("a", 1), ("b", 2), ("c", None)]),
        ("[::1]:12345,::1", [("::1", 12345), ("::1", None)]),
    ],
)
def test_the_line_client_reads_several_addresses(
    text: str, servers: list[tuple[str, int | None]]
) -> None:
    assert parse_servers(text) == servers


@pytest.mark.parametrize("text", ["a:0", "a:70000", "a:x", ":1", "a,,b", "[::1]x"])
def test_bad_addresses_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match=r"port|host|PORT"):
        parse_servers(text)


def test_a_host_without_its_own_port_takes_the_port_flag():
    assert ask_address("a:1,b", 2) == [("a", 1), ("b", 2)]
    assert ask_address("a:1,b:3", None) == [("a", 1), ("b", 3)]  # nothing to ask


def test_the_line_client_fails_over_at_connect_and_says_where_it_goes(tmp_path: Path):
    async def scenario() -> None:
        dead = free_port()
        async with node_pair() as (one, two):
            terminal = ScriptedTerminal()
            task = asyncio.create_task(
                _chat(HOST, dead, "alice", terminal=terminal, tokens=TokenStore(tmp_path),
                      failover=[(HOST, one.port), (HOST, two.port)])
            )  # fmt: skip
            try:
                await terminal.expect("Welcome to chinwag, alice!")
                await one.shutdown()
                await terminal.expect(f"Reconnecting to {HOST}:{two.port}", timeout=TIMEOUT * 2)
                await terminal.expect("Reconnected", timeout=TIMEOUT * 4)
                terminal.type("/quit")
                async with asyncio.timeout(TIMEOUT):
                    assert await task == 0
            finally:
                task.cancel()

    asyncio.run(scenario())


def test_chat_takes_the_servers_as_an_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    from chinwag.cli import main

    seen: dict[str, object] = {}

    def run_line_client(**kwargs: object) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr("chinwag.client.line.run_line_client", run_line_client)
    assert main(["chat", "h1:1,h2:2", "--user", "alice"]) == 0
    assert seen["host"] == "h1:1,h2:2"
    assert main(["chat", "--host", "h3", "--port", "4"]) == 0
    assert (seen["host"], seen["port"]) == ("h3", 4)
    with pytest.raises(SystemExit):
        main(["chat", "h1", "--host", "h2"])


def test_the_tui_takes_several_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    from chinwag.tui import run_tui

    made: list[tuple[object, ...]] = []

    class App:
        def __init__(self, *args: object, **kwargs: object) -> None:
            made.append((*args, kwargs["failover"]))

        def run(self) -> int:
            return 0

    monkeypatch.setattr("chinwag.tui.app.ChatApp", App)
    assert run_tui(host="a:1,b", port=2, user="alice") == 0
    assert made == [("a", 1, "alice", [("b", 2)])]


def test_a_login_is_saved_under_the_first_address_whichever_server_answered(tmp_path: Path):
    from chinwag.client.runner import save_login

    async def scenario() -> None:
        dead = free_port()
        async with node_pair() as (one, _two):
            client = ChatClient()
            await client.connect(HOST, dead, "erin", failover=[(HOST, one.port)])
            await client.register("erin", "correct horse battery")
            tokens = TokenStore(tmp_path)
            assert save_login(tokens, client)
            assert client.primary == (HOST, dead) and client.port == one.port
            assert tokens.get(HOST, dead, "erin") == client.token
            assert tokens.get(HOST, one.port, "erin") is None
            await client.close()

    asyncio.run(scenario())
