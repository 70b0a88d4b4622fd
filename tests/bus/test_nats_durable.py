"""The NATS bus sends a message to other nodes only once its node's store made it durable
(`Bus.durable`, told by the server after each commit), and never one the store gave up on
(`Bus.forget`). What follows a held frame waits behind it: one publisher's order."""

from __future__ import annotations

import asyncio

from chinwag.bus.base import Bus, Envelope, ToRoom
from chinwag.protocol import events as ev
from tests.bus.conftest import NATS_URL, listening, unique_prefix
from tests.bus.test_bus_contract import Inbox
from tests.helpers import TIMEOUT, needs_module, needs_service

needs_module("nats", "nats-py is not installed (pip install -e '.[dev]')")


DEV = ToRoom("dev")


def say(text: str, id_: int = 0) -> Envelope:
    return Envelope(DEV, ev.Goodbye(text), id_)


def test_frames_wait_for_their_commit_and_forgotten_ones_never_leave():
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")
    from chinwag.bus.nats import NatsBus

    async def scenario() -> None:
        prefix = unique_prefix()
        buses: list[Bus] = [NatsBus(NATS_URL, prefix=prefix) for _ in range(3)]
        for bus in buses:
            await bus.start()
        a, b, c = buses
        in_a, in_b = Inbox(a), Inbox(b)
        Inbox(c)
        a.subscribe(ToRoom("dev"))
        b.subscribe(ToRoom("dev"))
        await b.ready()
        a.durable(5)  # the node's store: ids up to 5 are durable
        a.publish(say("six", 6))
        a.publish(say("presence"))
        a.publish(say("seven", 7))
        a.publish(say("after seven"))
        assert in_a.texts() == ["six", "presence", "seven", "after seven"]  # its fan-out gates
        await asyncio.sleep(0.1)  # time enough for anything sent to arrive
        c.publish(say("from c"))
        assert await in_b.until("from c") == ["from c"]  # nothing of a's yet
        a.durable(6)
        assert await in_b.until("presence") == ["from c", "six", "presence"]
        a.forget({7})  # the store gave up on 7: it never leaves, what follows does
        assert await in_b.until("after seven") == ["from c", "six", "presence", "after seven"]
        async with asyncio.timeout(TIMEOUT):
            await a.ready()
        for bus in buses:
            await bus.close()

    asyncio.run(scenario())
