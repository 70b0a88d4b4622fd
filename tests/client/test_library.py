"""ChatClient against a real server on 127.0.0.1."""

import asyncio
import random

import pytest

from chinwag.client.library import ChatClient, JoinRefused
from chinwag.client.status import Closed, Disconnected, Reconnecting, ReconnectPolicy
from chinwag.config import ListenSpec
from chinwag.errors import ConnectionClosed, WrongProtocol
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from tests.client.support import collect, expect, settle
from tests.helpers import running_server

NO_RECONNECT = ReconnectPolicy(enabled=False)


async def pair(port: int) -> tuple[ChatClient, ChatClient]:
    alice, bob = ChatClient(reconnect=NO_RECONNECT), ChatClient(reconnect=NO_RECONNECT)
    await alice.connect("127.0.0.1", port, "alice")
    await bob.connect("127.0.0.1", port, "bob")
    assert (await expect(alice, ev.UserJoined)).username == "bob"
    return alice, bob


def test_chat_reaches_everyone_and_last_id_follows():
    async def scenario():
        async with running_server() as server:
            alice, bob = await pair(server.port)
            await alice.chat("hello")
            for client in (alice, bob):
                said = await expect(client, ev.ChatMessage)
                assert (said.username, said.message, said.room) == ("alice", "hello", "general")
                assert client.last_id == said.id > 0
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_private_messages_reach_only_their_two_parties():
    async def scenario():
        async with running_server() as server:
            alice, bob = await pair(server.port)
            carol = ChatClient(reconnect=NO_RECONNECT)
            await carol.connect("127.0.0.1", server.port, "carol")
            await expect(alice, ev.UserJoined)
            await expect(bob, ev.UserJoined)
            await alice.private("bob", "psst")
            for client in (alice, bob):
                got = await expect(client, ev.PrivateMessage)
                assert (got.username, got.target, got.message) == ("alice", "bob", "psst")
            assert await settle(carol) == []  # the server had sent the private before this
            await alice.private("nobody", "hello?")
            assert (await expect(alice, ev.Error)).code == ErrorCode.UNKNOWN_USER
            for client in (alice, bob, carol):
                await client.close()

    asyncio.run(scenario())


def test_ping_measures_a_round_trip_and_hides_its_pong():
    async def scenario():
        async with running_server() as server:
            alice = ChatClient()
            await alice.connect("127.0.0.1", server.port, "alice")
            rtts = [await alice.ping() for _ in range(3)]
            assert all(rtt > 0 for rtt in rtts)
            assert await settle(alice) == []
            await alice.close()

    asyncio.run(scenario())


def test_rooms_join_talk_topic_list_leave():
    async def scenario():
        async with running_server() as server:
            alice, bob = await pair(server.port)
            await alice.join_room("dev")
            joined = await expect(alice, ev.RoomJoined)
            assert joined.room == "dev" and alice.in_room("dev") and "dev" in alice.rooms
            await alice.set_topic("dev", "shipping")
            assert (await expect(alice, ev.TopicChanged)).topic == "shipping"
            await alice.chat("only dev hears this", "dev")
            assert (await expect(alice, ev.ChatMessage)).room == "dev"
            await alice.list_rooms()
            rooms = {r.room: r for r in (await expect(alice, ev.RoomList)).rooms}
            assert rooms["dev"].users == 1 and rooms["dev"].topic == "shipping"
            await alice.list_users("dev")
            assert (await expect(alice, ev.UserList)).users == ("alice",)
            assert await settle(bob) == []  # nothing of dev reached bob, who is not in it
            await alice.leave_room("dev")
            assert (await expect(alice, ev.RoomLeft)).room == "dev"
            assert not alice.in_room("dev")
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_history_and_search():
    async def scenario():
        async with running_server() as server:
            alice = ChatClient()
            await alice.connect("127.0.0.1", server.port, "alice")
            for text in ("apples are red", "bananas are yellow", "cherries are red"):
                await alice.chat(text)
            said = await collect(alice, ev.ChatMessage, 3)
            await alice.history("general", before=said[2].id, limit=10)
            page = await expect(alice, ev.HistoryPage)
            texts = [m.message for m in page.messages if isinstance(m, ev.ChatMessage)]
            assert texts == ["apples are red", "bananas are yellow"]
            assert all(m.history for m in page.messages)
            await alice.search("general", "red")
            found = await expect(alice, ev.SearchResults)
            found_texts = {m.message for m in found.messages if isinstance(m, ev.ChatMessage)}
            assert found_texts == {"apples are red", "cherries are red"}
            await alice.close()

    asyncio.run(scenario())


def test_keepalive_pings_are_answered_so_the_server_keeps_us():
    async def scenario():
        async with running_server(keepalive_interval=0.1, keepalive_timeout=0.5) as server:
            alice = ChatClient(reconnect=NO_RECONNECT)
            await alice.connect("127.0.0.1", server.port, "alice")
            async with asyncio.timeout(10):
                while alice.keepalives_answered < 8:  # > keepalive_timeout of silence
                    await asyncio.sleep(0.05)
            assert alice.connected
            assert await alice.ping() > 0
            assert await settle(alice) == []  # no Disconnected, no KeepAlive shown
            await alice.close()

    asyncio.run(scenario())


def test_a_message_seen_twice_is_shown_once():
    async def scenario():
        async with running_server() as server:
            alice, bob = await pair(server.port)
            for client in (alice, bob):
                await client.join_room("dev")
                await expect(client, ev.RoomJoined)
            await bob.chat("said once", "dev")
            first = await expect(alice, ev.ChatMessage)
            await alice.leave_room("dev")
            await expect(alice, ev.RoomLeft)
            await alice.join_room("dev")  # the server replays dev's recent history
            await expect(alice, ev.RoomJoined)
            await alice.chat("after", "dev")
            rest = await expect(alice, ev.ChatMessage)
            assert rest.message == "after"  # the replayed "said once" was dropped
            assert alice.duplicates_dropped == 1
            assert rest.id > first.id == alice.last_id - 1
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_a_taken_name_is_refused():
    async def scenario():
        async with running_server() as server:
            alice = ChatClient()
            await alice.connect("127.0.0.1", server.port, "alice")
            with pytest.raises(JoinRefused) as refused:
                await ChatClient().connect("127.0.0.1", server.port, "ALICE")
            assert refused.value.code == ErrorCode.NAME_TAKEN
            await alice.close()

    asyncio.run(scenario())


def test_quit_ends_the_stream_with_closed_by_user():
    async def scenario():
        async with running_server() as server:
            alice = ChatClient()
            await alice.connect("127.0.0.1", server.port, "alice")
            await alice.quit()
            events = [e async for e in alice]
            assert isinstance(events[-1], Closed) and events[-1].by_user
            assert any(isinstance(e, ev.Goodbye) for e in events)
            assert not alice.connected
            with pytest.raises(ConnectionClosed):
                await alice.receive()
            with pytest.raises(ConnectionClosed):
                await alice.chat("too late")

    asyncio.run(scenario())


def test_without_reconnect_a_server_shutdown_closes_the_client():
    async def scenario():
        async with running_server() as server:
            alice = ChatClient(reconnect=NO_RECONNECT)
            await alice.connect("127.0.0.1", server.port, "alice")
            await server.shutdown()
            events = [e async for e in alice]
        lost = [e for e in events if isinstance(e, Disconnected)]
        assert len(lost) == 1 and not lost[0].reconnecting
        assert isinstance(events[-1], Closed) and not events[-1].by_user

    asyncio.run(scenario())


def test_reconnect_gives_up_after_its_attempts():
    async def scenario():
        policy = ReconnectPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05)
        async with running_server() as server:
            alice = ChatClient(reconnect=policy)
            await alice.connect("127.0.0.1", server.port, "alice")
            await server.shutdown()
            async with asyncio.timeout(20):
                events = [e async for e in alice]
        tries = [e.attempt for e in events if isinstance(e, Reconnecting)]
        assert tries == [1, 2, 3]
        assert isinstance(events[-1], Closed) and "gave up after 3 attempts" in events[-1].reason

    asyncio.run(scenario())


def test_backoff_grows_is_capped_and_jittered():
    policy = ReconnectPolicy(initial_delay=1, max_delay=10, factor=2, jitter=0)
    assert [policy.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    jittery = ReconnectPolicy(initial_delay=1, max_delay=10, jitter=0.5)
    rng = random.Random(1)
    delays = [jittery.delay(3, rng) for _ in range(100)]
    assert all(2 <= d <= 4 for d in delays) and len(set(delays)) > 1
    assert not ReconnectPolicy(max_attempts=2).allows(3)
    assert ReconnectPolicy(max_attempts=None).allows(10**6)
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=2)


def test_close_while_reconnecting_ends_the_stream():
    async def scenario():
        policy = ReconnectPolicy(max_attempts=None, initial_delay=0.01, max_delay=0.05)
        async with running_server() as server:
            alice = ChatClient(reconnect=policy)
            await alice.connect("127.0.0.1", server.port, "alice")
            await server.shutdown()
            await expect(alice, ev.Goodbye)
            await expect(alice, Reconnecting)
            await alice.close()
            async with asyncio.timeout(10):
                events = [e async for e in alice]
        assert isinstance(events[-1], Closed) and events[-1].by_user
        with pytest.raises(ConnectionClosed):
            await alice.ping()

    asyncio.run(scenario())


@pytest.mark.parametrize("dialect", ["typed", "basic", "pipe"])
def test_a_port_of_another_dialect_is_refused_before_the_join_is_sent(dialect: str):
    async def scenario():
        async with running_server(listen=[ListenSpec(0, dialect)]) as server:
            port = next(p for p, d in server.ports.items() if d == dialect)
            watcher = ChatClient()
            await watcher.connect("127.0.0.1", server.port, "watcher")
            with pytest.raises(WrongProtocol, match=f"chinwag's {dialect} dialect"):
                await ChatClient().connect("127.0.0.1", port, "alice")
            assert await settle(watcher) == []  # alice never joined: not even presence
            await watcher.close()

    asyncio.run(scenario())
