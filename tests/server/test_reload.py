"""`ChatServer.reload_accounts`: what SIGUSR1 runs after `chinwag user` changed accounts.

The command line's side is in tests/test_admin.py; here, the server's: signals coalesce,
and logins or registrations that finish while the accounts are read are not taken for
revoked or deleted ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from chinwag.config import ServerConfig
from chinwag.engine.names import user_key
from chinwag.passwords import Passwords
from chinwag.server.app import ChatServer
from chinwag.storage.base import AccountRecord
from tests.helpers import LineClient, running_server

PASSWORD = "correct horse"


def test_signals_while_a_reload_runs_make_one_more():
    async def scenario() -> None:
        config = ServerConfig(
            host="127.0.0.1", port=0, data=":memory:", password_profile="cheapest", http_port=0
        )
        server = ChatServer(config)
        calls = 0
        release = asyncio.Event()

        async def counted() -> None:
            nonlocal calls
            calls += 1
            await release.wait()

        server.reload_accounts = counted  # type: ignore[method-assign]
        server.reload_accounts_soon()  # before start: waits for it
        assert calls == 0
        await server.start()
        try:
            await asyncio.sleep(0)
            assert calls == 1
            for _ in range(3):
                server.reload_accounts_soon()
            release.set()
            async with asyncio.timeout(5):
                while server._reloading:
                    await asyncio.sleep(0.01)
            assert calls == 2
        finally:
            await server.shutdown()

    asyncio.run(scenario())


async def _add_account(server: ChatServer, name: str) -> None:
    password_hash = Passwords("cheapest").hash_now(PASSWORD)
    await server.store.create_account(AccountRecord(user_key(name), name, password_hash))


def _held_read(server: ChatServer, during: Callable[[], Awaitable[Any]]) -> None:
    """The first time the reload reads the accounts, `during` runs first (as if it raced)."""
    store = server.store
    read = store.accounts
    raced = False

    async def racing() -> list[AccountRecord]:
        nonlocal raced
        records = await read()
        if not raced:
            raced = True
            await during()
        return records

    store.accounts = racing  # type: ignore[method-assign]


def test_a_login_during_a_reload_is_not_taken_for_a_revoked_one(tmp_path: Path):
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await _add_account(server, "bob")
            clients: list[LineClient] = []

            async def bob_logs_in() -> None:
                bob = await LineClient.connect(server.port)
                await bob.join("bob", password=PASSWORD)
                clients.append(bob)

            _held_read(server, bob_logs_in)
            await server.reload_accounts()
            (bob,) = clients
            assert await bob.settle() == []  # not signed out
            assert user_key("bob") in server.engine.memberships.online

    asyncio.run(scenario())


def test_a_registration_during_a_reload_is_kept(tmp_path: Path):
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            clients: list[LineClient] = []

            async def carol_registers() -> None:
                carol = await LineClient.connect(server.port)
                await carol.send({"type": "register", "username": "carol", "password": PASSWORD})
                assert (await carol.json())["type"] == "welcome"
                clients.append(carol)

            _held_read(server, carol_registers)
            await server.reload_accounts()
            (carol,) = clients
            assert await carol.settle() == []
            assert user_key("carol") in server.engine.registered

    asyncio.run(scenario())


def test_a_registration_under_way_when_a_reload_begins_is_kept(tmp_path: Path):
    """Its account is being written when the reload starts: the reload reads after it."""

    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            writes = server.store._commit_lock  # type: ignore[attr-defined]
            await writes.acquire()  # the store's writer is busy: account writes queue
            carol = await LineClient.connect(server.port)
            await carol.send({"type": "register", "username": "carol", "password": PASSWORD})
            async with asyncio.timeout(5):
                while user_key("carol") not in server.engine.registered:
                    await asyncio.sleep(0.01)
            reload = asyncio.ensure_future(server.reload_accounts())
            await asyncio.sleep(0.05)  # it reaches the store (and waits there)
            writes.release()
            await asyncio.wait_for(reload, 5)
            assert (await carol.json())["type"] == "welcome"
            assert await carol.settle() == []
            assert user_key("carol") in server.engine.registered

    asyncio.run(scenario())
