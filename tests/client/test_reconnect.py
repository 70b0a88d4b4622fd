"""A server restart on the same port and data: the client rejoins with `since`, misses nothing."""

import asyncio
from pathlib import Path

from chinwag.client.library import ChatClient
from chinwag.client.status import Disconnected, Reconnected, Reconnecting, ReconnectPolicy
from chinwag.protocol import events as ev
from tests.client.support import collect, expect, settle
from tests.helpers import TIMEOUT, free_port, running_server

FAST = ReconnectPolicy(max_attempts=200, initial_delay=0.02, max_delay=0.2)


class GatedClient(ChatClient):
    """Holds its reconnect attempts until the test opens the gate, so it surely misses talk."""

    def __init__(self) -> None:
        super().__init__(reconnect=FAST)
        self.gate = asyncio.Event()

    async def _open(self, join: ev.Join):  # a test seam: hold reconnects only
        if join.since is not None:
            await self.gate.wait()
        return await super()._open(join)


def test_rejoin_with_since_gets_each_missed_message_once_in_order(tmp_path: Path):
    async def scenario():
        port = free_port()
        alice = GatedClient()
        async with running_server(data=tmp_path, port=port) as server:
            await alice.connect("127.0.0.1", port, "alice")
            bob = ChatClient(reconnect=ReconnectPolicy(enabled=False))
            await bob.connect("127.0.0.1", port, "bob")
            await bob.chat("before the restart")
            before = await expect(alice, ev.ChatMessage)
            await server.shutdown()
            await expect(alice, ev.Goodbye)
            lost = await expect(alice, Disconnected)
            assert lost.reconnecting
            await expect(alice, Reconnecting)
        await bob.close()

        async with running_server(data=tmp_path, port=port):
            bob = ChatClient()
            await bob.connect("127.0.0.1", port, "bob")
            missed = [f"missed {i}" for i in range(5)]
            for text in missed:
                await bob.chat(text)
            await collect(bob, ev.ChatMessage, len(missed))  # echoed: durable
            alice.gate.set()
            back = await expect(alice, Reconnected, timeout=TIMEOUT * 2)
            assert back.since == before.id
            live = [f"live {i}" for i in range(3)]
            for text in live:
                await bob.chat(text)
            got = await collect(alice, ev.ChatMessage, len(missed) + len(live))
            assert [m.message for m in got] == missed + live
            assert [m.history for m in got] == [True] * len(missed) + [False] * len(live)
            ids = [m.id for m in got]
            assert ids == sorted(set(ids)) and ids[0] > before.id
            assert alice.last_id == ids[-1]
            # Nothing more arrives: no message twice.
            await bob.chat("marker")
            assert (await expect(alice, ev.ChatMessage)).message == "marker"
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_reconnect_retries_while_the_old_name_is_still_held(tmp_path: Path):
    """A half-open old session holds the name for a while; the client keeps trying."""

    async def scenario():
        port = free_port()
        alice = GatedClient()
        async with running_server(data=tmp_path, port=port) as server:
            await alice.connect("127.0.0.1", port, "alice")
            await server.shutdown()
            await expect(alice, ev.Goodbye)
            await expect(alice, Disconnected)
        async with running_server(data=tmp_path, port=port):
            squatter = ChatClient(reconnect=ReconnectPolicy(enabled=False))
            await squatter.connect("127.0.0.1", port, "alice")
            alice.gate.set()
            refused = await expect(alice, Reconnecting)
            while "taken" not in refused.reason:
                refused = await expect(alice, Reconnecting)
            await squatter.close()
            back = await expect(alice, Reconnected, timeout=TIMEOUT * 2)
            assert back.welcome.username == "alice"
            await alice.chat("I am back")
            assert (await expect(alice, ev.ChatMessage)).message == "I am back"
            await alice.close()

    asyncio.run(scenario())


def test_a_reconnect_keeps_the_rooms_without_announcing_them_again(tmp_path: Path):
    """The rooms we were in come back in the state, not as `join_room` events to show."""

    async def scenario():
        port = free_port()
        alice = ChatClient(reconnect=FAST)
        async with running_server(data=tmp_path, port=port) as server:
            await alice.connect("127.0.0.1", port, "alice")
            await alice.join_room("dev")
            await expect(alice, ev.RoomJoined)
            await server.shutdown()
        async with running_server(data=tmp_path, port=port):
            await expect(alice, Reconnected, timeout=TIMEOUT * 2, skip=(ev.Goodbye, Disconnected,
                         Reconnecting))  # fmt: skip
            after = [type(e) for e in await settle(alice)]
            assert ev.RoomJoined not in after, after
            assert alice.in_room("dev")
            await alice.close()

    asyncio.run(scenario())
