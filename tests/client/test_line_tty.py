"""The terminal path of `chinwag chat` through a pty: incoming messages leave typing intact."""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import struct
import sys
import termios

import pyte
import pytest

from chinwag.client.library import ChatClient
from chinwag.protocol import events as ev
from tests.client.support import expect
from tests.helpers import TIMEOUT, running_server

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

ANSI = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>78])")


class Terminal:
    """The master side of a pty, with everything the child wrote kept for inspection."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.output = bytearray()
        self._more = asyncio.Event()
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO once the child is gone
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
        self.output += data
        self._more.set()

    def text(self, start: int = 0) -> str:
        """What the screen received since `start`, escape sequences removed."""
        return ANSI.sub(b"", bytes(self.output[start:])).decode(errors="replace")

    async def wait_for(self, pattern: str, start: int = 0) -> int:
        """Wait until the regex `pattern` matches what came after byte `start`; the count then."""
        async with asyncio.timeout(TIMEOUT * 2):
            while not re.search(pattern, self.text(start), re.DOTALL):
                self._more.clear()
                await self._more.wait()
        return len(self.output)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)


async def start_chat(
    port: int, user: str, **extra_env: str
) -> tuple[asyncio.subprocess.Process, Terminal]:
    """`chinwag chat` on a 100x24 pty; the caller kills the process and closes the screen."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", **extra_env}
    argv = ["--host", "127.0.0.1", "--port", str(port), "--user", user]
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "chinwag", "chat", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    return proc, Terminal(master)


def on_screen(output: bytes) -> list[str]:
    """The rows a 100x24 terminal shows after receiving `output` (escape codes applied)."""
    screen = pyte.Screen(100, 24)
    pyte.ByteStream(screen).feed(output)
    return [row.rstrip() for row in screen.display]


def test_my_own_message_shows_once_the_echo_not_also_the_typed_line():
    async def scenario():
        async with running_server() as server:
            proc, screen = await start_chat(server.port, "alice")
            try:
                await screen.wait_for("alice@general>")
                screen.type("hello world\r")
                await screen.wait_for(r"\] alice: hello world")
                screen.type("/ping\r")  # its answer comes after the echo is drawn
                await screen.wait_for("Round-trip time")
                rows = on_screen(bytes(screen.output))
                assert sum("hello world" in row for row in rows) == 1, rows
                screen.type("/quit\r")
                async with asyncio.timeout(TIMEOUT * 2):
                    assert await proc.wait() == 0
            except BaseException:
                print(repr(bytes(screen.output)))  # shown by pytest when the test fails
                raise
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                screen.close()

    asyncio.run(scenario())


def test_incoming_messages_do_not_garble_the_line_being_typed():
    async def scenario():
        async with running_server() as server:
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
            env = {**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
            argv = ["--host", "127.0.0.1", "--port", str(server.port), "--user", "alice"]
            proc = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "chinwag", "chat", *argv],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
            )
            os.close(slave)
            screen = Terminal(master)
            bob = ChatClient()
            try:
                await screen.wait_for("alice@general>")
                await bob.connect("127.0.0.1", server.port, "bob")
                screen.type("hello wor")
                mark = await screen.wait_for("hello wor")
                await bob.chat("incoming while you type")
                # The message gets a line of its own, then the prompt and the half-typed text
                # are drawn again below it, intact.
                await screen.wait_for(
                    r"\] bob: incoming while you type\r\n.*alice@general> hello wor", mark
                )
                screen.type("ld\r")
                said = await expect(bob, ev.ChatMessage)
                while said.username != "alice":
                    said = await expect(bob, ev.ChatMessage)
                assert said.message == "hello world"
                screen.type("/quit\r")
                async with asyncio.timeout(TIMEOUT * 2):
                    assert await proc.wait() == 0
            except BaseException:
                print(repr(bytes(screen.output)))  # shown by pytest when the test fails
                raise
            finally:
                await bob.close()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                screen.close()

    asyncio.run(scenario())


def test_the_password_of_a_registered_name_is_read_without_echo(tmp_path):
    async def scenario():
        async with running_server() as server:
            owner = ChatClient()
            await owner.connect("127.0.0.1", server.port, "alice")
            await owner.register("alice", "hidden horse battery")
            await owner.quit()
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
            env = {
                **os.environ,
                "TERM": "xterm",
                "PROMPT_TOOLKIT_NO_CPR": "1",
                "CHINWAG_CONFIG_HOME": str(tmp_path),
            }
            argv = ["--host", "127.0.0.1", "--port", str(server.port), "--user", "alice"]
            proc = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "chinwag", "chat", *argv],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
            )
            os.close(slave)
            screen = Terminal(master)
            try:
                await screen.wait_for("Password for alice")
                screen.type("hidden horse battery\r")
                await screen.wait_for("Signed in to the account alice")
                await screen.wait_for("alice@general>")
                assert "hidden" not in screen.text()
                screen.type("/quit\r")
                async with asyncio.timeout(TIMEOUT * 2):
                    assert await proc.wait() == 0
            except BaseException:
                print(repr(bytes(screen.output)))  # shown by pytest when the test fails
                raise
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                screen.close()

    asyncio.run(scenario())


def test_a_paste_without_bracketed_paste_is_one_message():
    """Keys as a terminal without bracketed paste sends a paste: lines and Enters at once."""

    async def scenario():
        async with running_server() as server:
            bob = ChatClient()
            await bob.connect("127.0.0.1", server.port, "bob")
            # A whole second: on a loaded machine the terminal reads a paste's lines more
            # than 50 ms apart (the setting exists for slow links too).
            proc, screen = await start_chat(server.port, "alice", CHINWAG_PASTE_WINDOW="1")
            try:
                await screen.wait_for("alice@general>")
                pasted = [f"pasted line {i}" for i in range(30)]
                screen.type("\r".join(pasted) + "\r")
                said = await expect(bob, ev.ChatMessage)
                assert (said.username, said.message.split("\n")) == ("alice", pasted)
                screen.type("/quit\r")
                async with asyncio.timeout(TIMEOUT * 2):
                    assert await proc.wait() == 0
            except BaseException:
                print(repr(bytes(screen.output)))  # shown by pytest when the test fails
                raise
            finally:
                await bob.close()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                screen.close()

    asyncio.run(scenario())
