"""Accounts in `chinwag chat`: passwords asked, tokens saved and used, /register, /login,
/logout, /password. The session runs in-process with a scripted terminal; one test runs
the real command as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import Iterator
from pathlib import Path

from chinwag.client.library import ChatClient
from chinwag.client.line import _chat
from chinwag.client.status import ReconnectPolicy
from chinwag.client.tokens import TokenStore
from tests.client.support import ScriptedTerminal
from tests.client.test_line import ChatProcess
from tests.helpers import TIMEOUT, running_server

HOST = "127.0.0.1"
PASSWORD = "correct horse battery"


@contextlib.contextmanager
def chat_session(
    port: int, user: str | None, tokens: TokenStore
) -> Iterator[tuple[ScriptedTerminal, asyncio.Task[int]]]:
    terminal = ScriptedTerminal()
    task = asyncio.create_task(_chat(HOST, port, user, terminal=terminal, tokens=tokens))
    try:
        yield terminal, task
    finally:
        if not task.done():
            task.cancel()


async def ended(task: asyncio.Task[int]) -> int:
    async with asyncio.timeout(TIMEOUT):
        return await task


async def register(port: int, name: str = "alice") -> None:
    client = ChatClient(reconnect=ReconnectPolicy(enabled=False))
    await client.connect(HOST, port, name)
    await client.register(name, PASSWORD)
    await client.quit()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_registered_name_asks_its_password_once_then_the_saved_token_is_used(tmp_path: Path):
    async def scenario():
        async with running_server() as server:
            await register(server.port)
            tokens = TokenStore(tmp_path / "config")
            with chat_session(server.port, "alice", tokens) as (terminal, task):
                await terminal.expect("belongs to an account")
                await terminal.expect("Password for alice")
                terminal.type("not the password")
                await terminal.expect("Wrong username or password")
                await terminal.expect("Password for alice")
                terminal.type(PASSWORD)
                await terminal.expect("Welcome to chinwag, alice!")
                await terminal.expect("Signed in to the account alice.")
                await terminal.expect(f"Your login is saved for next time in {tokens.path}")
                asked = ("Password for alice (Enter alone gives up): ", True)
                assert terminal.questions == [asked, asked]
                terminal.type("/quit")
                assert await ended(task) == 0
            assert mode(tokens.path) == 0o600 and mode(tokens.folder) == 0o700
            saved = tokens.get(HOST, server.port, "alice")
            assert saved is not None and PASSWORD not in tokens.path.read_text()

            with chat_session(server.port, "Alice", tokens) as (terminal, task):
                await terminal.expect("Signed in to the account alice.")
                assert terminal.questions == []  # the token did it
                terminal.type(None)  # end of input leaves
                assert await ended(task) == 0
            assert tokens.get(HOST, server.port, "alice") == saved

            tokens.put(HOST, server.port, "alice", "a token the server never gave")
            with chat_session(server.port, "alice", tokens) as (terminal, task):
                await terminal.expect("Your saved login for alice has expired.")
                await terminal.expect("Password for alice")
                terminal.type(PASSWORD)
                await terminal.expect("Signed in to the account alice.")
                terminal.type("/quit")
                assert await ended(task) == 0
            fresh = tokens.get(HOST, server.port, "alice")
            assert fresh is not None and fresh != "a token the server never gave"

    asyncio.run(scenario())


def test_giving_up_on_the_password_asks_for_another_name_when_the_name_was_asked(tmp_path):
    async def scenario():
        async with running_server() as server:
            await register(server.port)
            tokens = TokenStore(tmp_path)
            with chat_session(server.port, None, tokens) as (terminal, task):
                await terminal.expect("Enter your username")
                terminal.type("alice")
                await terminal.expect("Password for alice")
                terminal.type("")
                await terminal.expect("Enter your username")
                terminal.type("bob")
                await terminal.expect("Welcome to chinwag, bob!")
                online = await terminal.expect("Online:")
                assert online == "Online: bob"  # no account online: nobody is marked
                terminal.type("/quit")
                assert await ended(task) == 0
            with chat_session(server.port, "alice", tokens) as (terminal, task):
                await terminal.expect("Password for alice")
                terminal.type(None)  # --user alice and no password: nothing else to try
                assert await ended(task) == 1

    asyncio.run(scenario())


def test_register_password_logout_then_login_inside_the_line_client(tmp_path: Path):
    async def scenario():
        async with running_server() as server:
            tokens = TokenStore(tmp_path)
            with chat_session(server.port, "alice", tokens) as (terminal, task):
                await terminal.expect("Welcome to chinwag, alice!")
                terminal.type("/password")
                await terminal.expect("Only an account has a password")
                terminal.type("/register", PASSWORD, "a different one")
                await terminal.expect("The two passwords differ.")
                await terminal.expect("Nothing was registered.")
                terminal.type("/register", "short", "short")
                await terminal.expect("Passwords need at least")
                terminal.type("/register")
                await terminal.expect("Password for the new account alice")
                terminal.type(PASSWORD)
                await terminal.expect("The same password again")
                terminal.type(PASSWORD)
                await terminal.expect("The account alice is yours.")
                await terminal.expect("Signed in to the account alice.")
                await terminal.expect("Your login is saved for next time")
                assert tokens.get(HOST, server.port, "alice") is not None
                assert all(secret for _, secret in terminal.questions)

                bob = ChatClient(reconnect=ReconnectPolicy(enabled=False))
                await bob.connect(HOST, server.port, "bob")
                await terminal.expect("--> bob joined the chat")
                terminal.type("/users")
                await terminal.expect("Online (2): alice, bob (guest)")

                terminal.type("/password", "not the password", "a new password", "a new password")
                await terminal.expect("! Wrong password")
                terminal.type("/password", PASSWORD, "a new password", "a new password")
                await terminal.expect("* Password changed")

                terminal.type("/logout")
                await terminal.expect("Logged out")
                assert await ended(task) == 0
                assert tokens.get(HOST, server.port, "alice") is None
                assert PASSWORD not in "\n".join(terminal.screen)

            with chat_session(server.port, "visitor", tokens) as (terminal, task):
                await terminal.expect("Welcome to chinwag, visitor!")
                terminal.type("/logout")
                await terminal.expect("You are a guest")
                terminal.type("/login alice", "not the password")
                await terminal.expect("Wrong username or password")
                await terminal.expect("Password for alice")
                terminal.type("")
                await terminal.expect("Not signed in.")
                terminal.type("/login alice", "a new password")
                await terminal.expect("Signed in to the account alice.")
                await terminal.expect("Your login is saved for next time")
                terminal.type("hello as alice")
                await terminal.expect("alice: hello as alice")
                terminal.type("/quit")
                assert await ended(task) == 0
            assert tokens.get(HOST, server.port, "alice") is not None
            await bob.close()

    asyncio.run(scenario())


def test_chinwag_chat_asks_the_password_of_a_registered_name_and_saves_its_token(
    config_home: Path,
):
    async def scenario():
        async with running_server() as server:
            await register(server.port)
            args = ("--host", HOST, "--port", str(server.port), "--user", "alice")
            chat = await ChatProcess.start(*args)
            try:
                await chat.expect("belongs to an account")
                await chat.send(PASSWORD)
                await chat.expect("Welcome to chinwag, alice!")
                await chat.expect("Your login is saved for next time")
                await chat.send("/quit")
                assert await chat.exit_code() == 0
            finally:
                await chat.stop()
            tokens = TokenStore(config_home)
            assert tokens.get(HOST, server.port, "alice") is not None
            assert mode(tokens.path) == 0o600
            assert not any(PASSWORD in line for line in chat.transcript)

            again = await ChatProcess.start(*args)
            try:
                await again.expect("Signed in to the account alice.")
                await again.send("/quit")
                assert await again.exit_code() == 0
                assert not any("Password" in line for line in again.transcript)
            finally:
                await again.stop()

    asyncio.run(scenario())
