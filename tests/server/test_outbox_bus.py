"""The outbox tells a broker bus the committed id whenever it moves: after its own commit,
and when another node sharing the store committed (a frame must not wait for this node's
next message)."""

from __future__ import annotations

import asyncio

from chinwag.protocol import events as ev
from chinwag.server.outbox import Outbox
from chinwag.storage.memory import MemoryStore


def test_the_bus_hears_of_every_commit_whoever_made_it():
    async def scenario() -> None:
        store = MemoryStore()
        told: list[int] = []
        outbox = Outbox(
            store,
            asyncio.get_running_loop(),
            spawn=lambda coro: None,
            before_flush=lambda: None,
            gave_up=lambda dropped: None,
            health=lambda ok: None,
            committed=told.append,
        )
        outbox.flush()
        assert told == [0]
        store.append(ev.ChatMessage(store.next_id(), "dev", "a", "mine", 1.0))
        outbox.flush()  # commits on the loop (memory), then tells
        assert told == [0, 1]
        outbox.flush()
        assert told == [0, 1]  # nothing moved: nothing said
        store.append(ev.ChatMessage(store.next_id(), "dev", "b", "theirs", 1.0))
        assert store.commit_now()  # another node's outbox, sharing the store
        outbox.flush()
        assert told == [0, 1, 2]

    asyncio.run(scenario())
