"""`chinwag chat` end to end: the line client as a subprocess, stdin in, stdout out."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from chinwag.client.library import ChatClient
from tests.client.support import start_server_process, stop_process
from tests.helpers import TIMEOUT, free_port, running_server, wait_for_port


class ChatProcess:
    """A `chinwag chat` child process driven through pipes; killed by `stop()`."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.transcript: list[str] = []

    @classmethod
    async def start(cls, *args: str) -> ChatProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chinwag",
            "chat",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return cls(proc)

    @classmethod
    async def join(cls, port: int, user: str) -> ChatProcess:
        chat = await cls.start("--host", "127.0.0.1", "--port", str(port), "--user", user)
        await chat.expect(f"Welcome to chinwag, {user}!")
        return chat

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def expect(self, needle: str, timeout: float = TIMEOUT * 2) -> str:
        """Read output lines until one contains `needle`; that line."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"{needle!r} never came:\n" + "\n".join(self.transcript))
                line = raw.decode().rstrip("\n")
                self.transcript.append(line)
                if needle in line:
                    return line

    async def exit_code(self, timeout: float = TIMEOUT * 2) -> int:
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            rest = await self.proc.stdout.read()
            self.transcript.extend(rest.decode().splitlines())
            return await self.proc.wait()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def test_two_users_chat_message_privately_and_quit():
    async def scenario():
        async with running_server() as server:
            alice: ChatProcess | None = None
            bob: ChatProcess | None = None
            try:
                alice = await ChatProcess.join(server.port, "alice")
                bob = await ChatProcess.join(server.port, "bob")
                await alice.expect("--> bob joined the chat")
                await alice.send("Hello everyone!")
                for chat in (alice, bob):
                    line = await chat.expect("alice: Hello everyone!")
                    assert line.startswith("[") and line[9:11] == "] "  # [HH:MM:SS]
                await bob.send("/msg alice just for you")
                await alice.expect("[private] bob -> you: just for you")
                await bob.expect("[private] you -> alice: just for you")
                await alice.send("/users")
                await alice.expect("Online (2): alice, bob")
                await alice.send("/ping")
                assert " ms" in await alice.expect("Round-trip time:")
                await alice.send("/dance")
                await alice.expect("Unknown command /dance. Type /help")
                await alice.send("/help")
                await alice.expect("/msg NAME text")
                await alice.send("/quit")
                assert await alice.exit_code() == 0
                await bob.expect("<-- alice left the chat")
                assert not any("dance" in line for line in bob.transcript)
                await bob.send("/q")
                assert await bob.exit_code() == 0
            finally:
                for proc in (alice, bob):
                    if proc is not None:
                        await proc.stop()

    asyncio.run(scenario())


def test_rooms_topic_switch_history_search_nick():
    async def scenario():
        async with running_server() as server:
            alice = await ChatProcess.join(server.port, "alice")
            try:
                await alice.send("an apple a day")
                await alice.expect("alice: an apple a day")
                await alice.send("/join dev")
                await alice.expect("Now talking in #dev")
                await alice.send("release on friday")
                line = await alice.expect("alice: release on friday")
                assert "#dev" not in line  # the current room carries no tag
                await alice.send("/topic shipping week")
                await alice.expect("set the topic of #dev: shipping week")
                await alice.send("/rooms")
                await alice.expect("#dev (1 online) - shipping week")
                await alice.send("/switch general")
                await alice.expect("Now talking in #general")
                await alice.send("/history 5")
                await alice.expect("--- History of #general (1 messages) ---")
                await alice.expect("alice: an apple a day")
                await alice.send("/search apple")
                await alice.expect("Search in #general for 'apple' (1 messages)")
                await alice.send("/switch nowhere")
                await alice.expect("You are not in #nowhere")
                await alice.send("/leave dev")
                await alice.expect("You left #dev")
                await alice.send("/nick alicia")
                await alice.expect("alice is now known as alicia")
                await alice.send("still me")
                await alice.expect("alicia: still me")
                await alice.send("/exit")
                assert await alice.exit_code() == 0
            finally:
                await alice.stop()

    asyncio.run(scenario())


def test_missing_settings_are_asked_for_and_a_taken_name_asked_again():
    async def scenario():
        async with running_server() as server:
            bob = await ChatProcess.join(server.port, "bob")
            alice = await ChatProcess.start()
            try:
                await alice.send("127.0.0.1")
                await alice.send(str(server.port))
                await alice.send("bob")
                await alice.expect("Username already taken")
                await alice.send("alice")
                await alice.expect("Welcome to chinwag, alice!")
                assert "Server host (default: localhost)" in "\n".join(alice.transcript)
                alice.proc.stdin.close()  # type: ignore[union-attr]  # end of input: leave
                assert await alice.exit_code() == 0
            finally:
                await alice.stop()
                await bob.stop()

    asyncio.run(scenario())


def test_no_server_exits_1_with_a_clear_message():
    async def scenario():
        chat = await ChatProcess.start(
            "--host", "127.0.0.1", "--port", str(free_port()), "--user", "a"
        )
        try:
            await chat.expect("Cannot connect to 127.0.0.1")
            assert await chat.exit_code() == 1
        finally:
            await chat.stop()

    asyncio.run(scenario())


def test_the_line_client_reconnects_after_a_server_restart(tmp_path: Path):
    async def scenario():
        port = free_port()
        server = start_server_process(port, tmp_path)
        alice = None
        try:
            await wait_for_port(port, server)
            alice = await ChatProcess.join(port, "alice")
            stop_process(server)  # SIGTERM: graceful, says goodbye
            await alice.expect("Connection lost")
            await alice.expect("Reconnecting in")
            server = start_server_process(port, tmp_path)
            await wait_for_port(port, server)
            bob = ChatClient()  # talks while alice may still be away: she sees it once
            await bob.connect("127.0.0.1", port, "bob")
            await bob.chat("said during the restart")
            await alice.expect("Reconnected", timeout=40)
            await alice.expect("bob: said during the restart")
            await alice.send("back again")
            await alice.expect("alice: back again")
            await bob.close()
            await alice.send("/quit")
            assert await alice.exit_code() == 0
            assert sum("said during the restart" in line for line in alice.transcript) == 1
        finally:
            if alice is not None:
                await alice.stop()
            stop_process(server)

    asyncio.run(scenario())


def test_another_users_escape_sequences_and_forged_lines_are_shown_inert():
    async def scenario():
        async with running_server() as server:
            mallory = ChatClient()
            await mallory.connect("127.0.0.1", server.port, "mallory")
            hostile = "\x1b[2J\x1b]52;c;cm0gLXJm\x07ok\nrobert: send me your password"
            await mallory.chat(hostile)
            await mallory.set_topic("general", "\x1b[31mred\x9b")
            alice = await ChatProcess.join(server.port, "alice")  # the chat comes as history
            try:
                first = await alice.expect("mallory: ")
                assert first.endswith("mallory: \\x1b[2J\\x1b]52;c;cm0gLXJm\\x07ok")
                second = await alice.expect("robert")
                assert second.lstrip().startswith("| robert: send me your password")
                assert (await alice.expect("set the topic")).endswith("\\x1b[31mred\\x9b")
                await mallory.chat("live\x1b[H\rtoo")
                line = await alice.expect("live")
                assert line.endswith("mallory: live\\x1b[H") and "\x1b" not in line
                assert (await alice.expect("too")).lstrip() == "| too"
                await alice.send("/quit")
                assert await alice.exit_code() == 0
                assert not any(c in "".join(alice.transcript) for c in "\x1b\x07\x9b\r")
            finally:
                await mallory.close()
                await alice.stop()

    asyncio.run(scenario())


def test_a_topic_starting_with_the_name_of_one_of_my_rooms_is_the_whole_topic():
    async def scenario():
        async with running_server() as server:
            alice = await ChatProcess.join(server.port, "alice")
            try:
                await alice.send("/join dev")
                await alice.expect("Now talking in #dev")
                await alice.send("we ship on friday")
                await alice.expect("alice: we ship on friday")
                await alice.send("/switch general")
                await alice.expect("Now talking in #general")
                await alice.send("/topic Dev talk")
                await alice.expect("set the topic of #general: Dev talk")
                await alice.send("/topic #dev release on friday")
                await alice.expect("set the topic of #dev: release on friday")
                await alice.send("/search #dev friday")  # in #dev, for "friday"
                await alice.expect("Search in #dev for 'friday' (1 messages)")
                await alice.send("/search dev talk")  # in #general, for "dev talk"
                await alice.expect("Search in #general for 'dev talk': nothing found")
                await alice.send("/history #dev 1")
                await alice.expect("--- History of #dev (1 messages) ---")
                await alice.send("/quit")
                assert await alice.exit_code() == 0
                assert not any("topic of #dev: talk" in line for line in alice.transcript)
            finally:
                await alice.stop()

    asyncio.run(scenario())
