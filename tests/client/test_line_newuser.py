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
