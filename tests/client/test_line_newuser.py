"""What a new user of `chinwag chat` tripped over (issue 16), each against a real server.

The session runs in-process with a scripted terminal where it needs a setting a process
cannot be given (short reconnect delays); otherwise as the real command.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from chinwag.client.library import ChatClient
from chinwag.client.line import LINE_RECONNECT, _chat
from chinwag.client.tokens import TokenStore
from chinwag.config import ListenSpec
from chinwag.protocol import events as ev
from tests.client.support import ScriptedTerminal, expect, settle
from tests.client.test_line import ChatProcess
from tests.helpers import TIMEOUT, free_port, running_server

HOST = "127.0.0.1"
# The line client's own policy, with delays short enough for a test.
QUICK = dataclasses.replace(LINE_RECONNECT, initial_delay=0.001, max_delay=0.005)


def test_the_line_client_keeps_trying_while_the_server_is_down_until_it_is_back(
    tmp_path: Path,
):
    async def scenario():
        port = free_port()
        terminal = ScriptedTerminal()
        tokens = TokenStore(tmp_path / "config")
        async with running_server(data=tmp_path, port=port):
            task = asyncio.create_task(
                _chat(HOST, port, "alice", terminal=terminal, tokens=tokens, reconnect=QUICK)
            )
            await terminal.expect("Welcome to chinwag, alice!")
        try:
            # Far past the 10 attempts after which it used to give up and exit.
            await terminal.expect("(attempt 40)")
            assert not task.done()
            assert not any("gave up" in line for line in terminal.screen)
            async with running_server(data=tmp_path, port=port):
                await terminal.expect("Reconnected", timeout=TIMEOUT * 2)
                terminal.type("/quit")
                async with asyncio.timeout(TIMEOUT):
                    assert await task == 0
        finally:
            task.cancel()

    asyncio.run(scenario())


def test_the_line_clients_backoff_is_capped_at_30_seconds():
    assert LINE_RECONNECT.max_attempts is None
    assert max(LINE_RECONNECT.delay(n) for n in range(1, 60)) <= 30.0


def test_a_paste_of_40_lines_without_bracketed_paste_loses_none():
    """All at once on stdin, as a terminal without bracketed paste (or a pipe) gives them;
    40 messages would run into the server's rate limit (bursts of 20)."""

    async def scenario():
        async with running_server() as server:
            bob = ChatClient()
            await bob.connect(HOST, server.port, "bob")
            alice = await ChatProcess.join(server.port, "alice")
            try:
                pasted = [f"line {i} of the paste" for i in range(40)]
                await alice.send("\n".join(pasted))
                received: list[str] = []
                while len(received) < len(pasted):
                    said = await expect(bob, ev.ChatMessage)
                    assert said.username == "alice"
                    received += said.message.split("\n")
                assert received == pasted
                assert not any(isinstance(e, ev.Error) for e in await settle(bob))
                await alice.send("/quit")
                assert await alice.exit_code() == 0
                assert not any(line.startswith("!") for line in alice.transcript)
            finally:
                await bob.close()
                await alice.stop()

    asyncio.run(scenario())


def test_chat_on_a_port_of_another_dialect_says_which_and_says_nothing_in_any_room():
    async def scenario():
        dialects = ("plain", "pipe", "typed", "basic")
        async with running_server(listen=[ListenSpec(0, d) for d in dialects]) as server:
            ports = {dialect: port for port, dialect in server.ports.items()}
            watcher = ChatClient()
            await watcher.connect(HOST, server.port, "watcher")
            for dialect in dialects:
                chat = await ChatProcess.start(
                    "--host", HOST, "--port", str(ports[dialect]), "--user", "alice"
                )
                try:
                    said = await chat.expect("is not a chinwag native port")
                    assert f"it speaks chinwag's {dialect} dialect" in said
                    await chat.expect("give it the server's main port (12345 unless")
                    assert await chat.exit_code() == 1
                finally:
                    await chat.stop()
            events = await settle(watcher)
            assert not any(isinstance(e, ev.ChatMessage) for e in events), events
            # Only the plain port joins a connection by itself, as it greets it (`Client N`);
            # no join line of ours was ever sent.
            joined = [e.username for e in events if isinstance(e, ev.UserJoined)]
            assert joined and all(name.startswith("Client ") for name in joined), joined
            await watcher.close()

    asyncio.run(scenario())


def test_chat_on_a_port_that_is_not_chinwag_says_what_answered():
    async def scenario():
        async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readline()
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        web = await asyncio.start_server(http, HOST, 0)
        port = web.sockets[0].getsockname()[1]
        chat = await ChatProcess.start("--host", HOST, "--port", str(port), "--user", "alice")
        try:
            said = await chat.expect("is not a chinwag native port")
            assert "it answered 'HTTP/1.1 400 Bad Request', which is not chinwag" in said
            assert await chat.exit_code() == 1
        finally:
            await chat.stop()
            web.close()
            await web.wait_closed()

    asyncio.run(scenario())
