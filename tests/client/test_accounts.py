"""ChatClient's account operations against a real server on 127.0.0.1 (cheap argon2)."""

from __future__ import annotations

import asyncio

import pytest

from chinwag.client.library import ChatClient, JoinRefused, Refused
from chinwag.client.status import Closed, Disconnected, Reconnected, Reconnecting, ReconnectPolicy
from chinwag.engine.names import user_key
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.server.app import ChatServer
from tests.client.support import expect, settle
from tests.helpers import TIMEOUT, running_server

NO_RECONNECT = ReconnectPolicy(enabled=False)
FAST = ReconnectPolicy(max_attempts=50, initial_delay=0.01, max_delay=0.1)
HOST = "127.0.0.1"
PASSWORD = "correct horse battery"


async def registered(port: int, name: str = "alice", **options: object) -> ChatClient:
    """A client that joined as a guest and registered its name."""
    client = ChatClient(**options)  # type: ignore[arg-type]
    await client.connect(HOST, port, name)
    await client.register(name, PASSWORD)
    return client


def drop(server: ChatServer, name: str) -> None:
    """Cut a user's connection from the server's side, without a goodbye."""
    (conn,) = [c for c in server.connections if c.name == name]
    conn.abort("dropped by the test")


def test_register_gives_a_token_that_signs_in_elsewhere_and_ends_the_older_session():
    async def scenario():
        async with running_server() as server:
            first = ChatClient(reconnect=FAST)
            welcome = await first.connect(HOST, server.port, "alice")
            assert welcome.guest and first.guest and first.account is None
            assert first.token is None
            mine = await first.register("alice", PASSWORD)
            assert mine.account == "alice" and not mine.guest
            assert first.account == "alice" and not first.guest
            assert first.token and first.token == mine.token
            assert await settle(first) == []  # the answer is not also in the stream

            second = ChatClient(reconnect=NO_RECONNECT)
            again = await second.connect(HOST, server.port, "alice", token=first.token)
            assert again.account == "alice" and again.token is None
            assert second.token == first.token  # it keeps the token it signed in with
            goodbye = await expect(first, ev.Goodbye)
            assert goodbye.message.startswith("Signed out")
            # No reconnect: it would sign the other session out in turn.
            closed = await expect(first, Closed, skip=())
            assert closed.code == "signed_out" and not closed.by_user
            await second.close()

    asyncio.run(scenario())


def test_a_registered_name_is_refused_to_a_guest_and_given_for_its_password():
    async def scenario():
        async with running_server() as server:
            owner = await registered(server.port, reconnect=NO_RECONNECT)
            await owner.quit()
            guest = ChatClient(reconnect=NO_RECONNECT)
            with pytest.raises(JoinRefused) as refused:
                await guest.connect(HOST, server.port, "ALICE")
            assert refused.value.name_registered
            with pytest.raises(JoinRefused) as wrong:
                await guest.connect(HOST, server.port, "alice", password="not it at all")
            assert wrong.value.code == ErrorCode.AUTH_FAILED and not wrong.value.name_registered
            welcome = await guest.connect(HOST, server.port, "alice", password=PASSWORD)
            assert welcome.account == "alice" and welcome.token
            assert guest.token == welcome.token and guest.account == "alice"
            await guest.close()

    asyncio.run(scenario())


def test_a_guest_logs_in_in_place_and_a_wrong_password_keeps_the_connection():
    async def scenario():
        async with running_server() as server:
            owner = await registered(server.port, reconnect=NO_RECONNECT)
            await owner.quit()
            watcher = ChatClient(reconnect=NO_RECONNECT)
            await watcher.connect(HOST, server.port, "watcher")
            guest = ChatClient(reconnect=NO_RECONNECT)
            await guest.connect(HOST, server.port, "visitor")
            with pytest.raises(JoinRefused) as wrong:
                await guest.login("alice", "not it at all")
            assert wrong.value.code == ErrorCode.AUTH_FAILED
            await guest.chat("still here")  # the connection stayed open
            for client in (guest, watcher):
                assert (await expect(client, ev.ChatMessage)).message == "still here"
            welcome = await guest.login("alice", PASSWORD)
            assert welcome.username == "alice" and welcome.account == "alice"
            assert guest.username == "alice" and not guest.guest and guest.token
            renamed = await expect(watcher, ev.UserRenamed)
            assert (renamed.old, renamed.new) == ("visitor", "alice")
            await watcher.list_users()
            users = await expect(watcher, ev.UserList)
            assert set(users.users) == {"alice", "watcher"} and users.accounts == ("alice",)
            await guest.close()
            await watcher.close()

    asyncio.run(scenario())


def test_change_password_then_logout_revokes_the_token():
    async def scenario():
        async with running_server() as server:
            alice = await registered(server.port, reconnect=FAST)
            token = alice.token
            with pytest.raises(Refused) as wrong:
                await alice.change_password("not it at all", "a new one entirely")
            assert wrong.value.code == ErrorCode.AUTH_FAILED
            with pytest.raises(Refused) as short:
                await alice.change_password(PASSWORD, "short")
            assert short.value.code == ErrorCode.INVALID_PASSWORD
            done = await alice.change_password(PASSWORD, "a new one entirely")
            assert done.command == "password" and "changed" in done.message.lower()
            assert alice.token == token  # this client's token goes on working
            await alice.logout()
            assert alice.token is None
            assert isinstance(await expect(alice, ev.Goodbye), ev.Goodbye)
            closed = await expect(alice, Closed, skip=())
            assert closed.by_user

            later = ChatClient(reconnect=NO_RECONNECT)
            with pytest.raises(JoinRefused) as revoked:
                await later.connect(HOST, server.port, "alice", token=token)
            assert revoked.value.code == ErrorCode.AUTH_FAILED
            await later.connect(HOST, server.port, "alice", password="a new one entirely")
            await later.close()

    asyncio.run(scenario())


def test_a_guest_cannot_change_a_password_and_registering_twice_is_refused():
    async def scenario():
        async with running_server() as server:
            guest = ChatClient(reconnect=NO_RECONNECT)
            await guest.connect(HOST, server.port, "visitor")
            with pytest.raises(Refused) as refused:
                await guest.change_password("whatever it is", "a new one entirely")
            assert refused.value.code == ErrorCode.FORBIDDEN
            with pytest.raises(JoinRefused) as short:
                await guest.register("visitor", "short")
            assert short.value.code == ErrorCode.INVALID_PASSWORD
            await guest.register("visitor", PASSWORD)
            with pytest.raises(JoinRefused) as twice:
                await guest.register("visitor2", PASSWORD)
            assert twice.value.code == ErrorCode.ALREADY_JOINED
            await guest.close()

    asyncio.run(scenario())


def test_a_dropped_account_reconnects_with_its_token_as_the_account():
    async def scenario():
        async with running_server() as server:
            alice = await registered(server.port, reconnect=FAST)
            token = alice.token
            await alice.join_room("dev")
            await expect(alice, ev.RoomJoined)
            bob = ChatClient(reconnect=NO_RECONNECT)
            await bob.connect(HOST, server.port, "bob")
            await expect(alice, ev.UserJoined)
            drop(server, "alice")
            assert (await expect(alice, Disconnected)).reconnecting
            back = await expect(alice, Reconnected, timeout=TIMEOUT * 2)
            assert back.welcome.account == "alice" and not back.welcome.guest
            assert alice.account == "alice" and alice.token == token
            assert "dev" in alice.rooms
            await bob.list_users()
            users = await expect(bob, ev.UserList)
            assert "alice" in users.accounts and "bob" not in users.accounts
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_a_revoked_token_ends_the_reconnecting_with_auth_failed():
    async def scenario():
        async with running_server() as server:
            alice = await registered(server.port, reconnect=FAST)
            assert await server.store.revoke_tokens(user_key("alice")) == 1
            drop(server, "alice")
            await expect(alice, Disconnected)
            await expect(alice, Reconnecting)
            closed = await expect(alice, Closed)
            assert closed.code == ErrorCode.AUTH_FAILED and not closed.by_user
            assert alice.token is None and alice.account is None

    asyncio.run(scenario())


def test_history_with_pages_an_accounts_private_conversation():
    async def scenario():
        async with running_server() as server:
            alice = await registered(server.port, "alice", reconnect=NO_RECONNECT)
            bob = await registered(server.port, "bob", reconnect=NO_RECONNECT)
            await expect(alice, ev.UserJoined)
            await alice.private("bob", "just between us")
            await expect(alice, ev.PrivateMessage)
            await expect(bob, ev.PrivateMessage)
            await bob.history_with("alice")
            page = await expect(bob, ev.HistoryPage)
            assert page.with_ == "alice"
            assert [m.message for m in page.messages] == ["just between us"]  # type: ignore[union-attr]
            await alice.close()
            await bob.close()

    asyncio.run(scenario())
