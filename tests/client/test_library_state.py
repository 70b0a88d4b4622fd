"""The library's per-conversation state and history paging against a real server."""

from __future__ import annotations

import asyncio

from chinwag.client.library import ChatClient
from chinwag.client.state import key
from chinwag.client.status import OlderHistory, ReconnectPolicy
from chinwag.protocol import events as ev
from tests.client.support import expect, settle
from tests.helpers import running_server

NO_RECONNECT = ReconnectPolicy(enabled=False)


def texts(messages) -> list[str]:
    return [m.message for m in messages if isinstance(m, ev.ChatMessage)]


def test_unread_counts_members_and_echoes_follow_the_server():
    async def scenario():
        async with running_server() as server:
            alice, bob = ChatClient(reconnect=NO_RECONNECT), ChatClient(reconnect=NO_RECONNECT)
            await alice.connect("127.0.0.1", server.port, "alice")
            await bob.connect("127.0.0.1", server.port, "bob")
            alice.state.view(key("general"))
            await alice.join_room("dev")
            await expect(alice, ev.RoomJoined)
            await bob.join_room("dev")
            await expect(alice, ev.UserJoined)
            await bob.chat("alice: a build broke", "dev")
            await bob.chat("still broken", "dev")
            await alice.chat("hi all")
            assert [s.text for s in alice.state.sending] == ["hi all"]
            await settle(alice)
            dev = alice.state.conversations[key("dev")]
            assert (dev.unread, dev.mentioned) == (2, 1)
            assert sorted(m.name for m in dev.members.values()) == ["alice", "bob"]
            assert alice.state.sending == []  # the echo came
            assert alice.state.conversations[key("general")].unread == 0
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_older_pages_arrive_as_their_own_event_and_history_answers_stay_pages():
    async def scenario():
        async with running_server(message_rate=0) as server:
            bob = ChatClient(reconnect=NO_RECONNECT)
            await bob.connect("127.0.0.1", server.port, "bob")
            for n in range(30):
                await bob.chat(f"line {n}")
            await settle(bob)
            alice = ChatClient(reconnect=NO_RECONNECT)
            await alice.connect("127.0.0.1", server.port, "alice")
            await settle(alice)  # the join's replay: the last 20
            general = alice.state.conversations[key("general")]
            assert texts(general.messages)[0] == "line 10"
            await alice.history("general", limit=5)  # a /history: an answer to show
            assert await alice.older(key("general"), limit=8)
            assert not await alice.older(key("general"))  # one page at a time
            page = await expect(alice, ev.HistoryPage)
            assert texts(page.messages)[-1] == "line 29"
            older = await expect(alice, OlderHistory)
            assert texts(older.messages) == [f"line {n}" for n in range(2, 10)]
            assert texts(general.messages)[:3] == ["line 2", "line 3", "line 4"]
            assert await alice.older(key("general"))
            assert len((await expect(alice, OlderHistory)).messages) == 2
            assert await alice.older(key("general"))
            assert (await expect(alice, OlderHistory)).messages == ()
            assert not general.more_before
            assert not await alice.older(key("general"))
            await alice.close()
            await bob.close()

    asyncio.run(scenario())
