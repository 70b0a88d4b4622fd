"""Coalescing under load: after a flush that wrote to many connections, the next writes wait
a little (never more than the outbox's `coalesce_max`) while the commit goes on; small
flushes never wait, and a shutdown writes at once. No timing is asserted: the writes'
clock is a fake on which each write takes long, and the wait is a whole second here so
that a loaded machine cannot end it before the test looks."""

from __future__ import annotations

import asyncio

from chinwag.protocol import events as ev
from chinwag.server.outbox import COALESCE_AFTER, Outbox
from chinwag.storage.memory import MemoryStore


class Conn:
    """An `Owed` connection that counts its writes."""

    def __init__(self) -> None:
        self.needs = 0
        self.writes = 0

    def flush(self) -> None:
        self.writes += 1


WAIT = 1.0  # seconds: the longest wait, in these tests


def slow_clock() -> float:
    """A clock on which each reading is a second later: every flush took long."""
    slow_clock.now += 1.0  # type: ignore[attr-defined]
    return slow_clock.now  # type: ignore[attr-defined,no-any-return]


slow_clock.now = 0.0  # type: ignore[attr-defined]


def outbox_for(store: MemoryStore) -> Outbox:
    return Outbox(
        store,
        asyncio.get_running_loop(),
        spawn=lambda coro: None,
        before_flush=lambda: None,
        gave_up=lambda dropped: None,
        health=lambda ok: None,
        coalesce_max=WAIT,
        clock=slow_clock,
    )


async def settle(conns: list[Conn], writes: int) -> None:
    """Until every connection has written `writes` times (a bounded wait)."""
    async with asyncio.timeout(WAIT * 10):
        while any(conn.writes < writes for conn in conns):
            await asyncio.sleep(WAIT / 10)


def test_after_a_big_flush_the_next_writes_wait_but_the_commit_does_not():
    async def scenario() -> None:
        store = MemoryStore()
        outbox = outbox_for(store)
        room = [Conn() for _ in range(COALESCE_AFTER)]
        for conn in room:
            outbox.owe(conn)
        await asyncio.sleep(0)  # the flush runs: nothing came before, nothing waits
        assert [conn.writes for conn in room] == [1] * len(room)
        message = ev.ChatMessage(store.next_id(), "general", "a", "hi", 1.0)
        store.append(message)
        for conn in room:
            conn.needs = message.id
            outbox.owe(conn)
        await asyncio.sleep(0)
        assert store.committed_id == message.id  # committed at once
        assert [conn.writes for conn in room] == [1] * len(room)  # written later
        assert outbox.coalesced == 1
        await settle(room, 2)  # ...and not much later: the wait is bounded

    asyncio.run(scenario())


def test_small_flushes_never_wait():
    async def scenario() -> None:
        outbox = outbox_for(MemoryStore())
        few = [Conn() for _ in range(COALESCE_AFTER - 1)]
        for round_ in range(1, 4):
            for conn in few:
                outbox.owe(conn)
            await asyncio.sleep(0)
            assert [conn.writes for conn in few] == [round_] * len(few)
        assert outbox.coalesced == 0

    asyncio.run(scenario())


def test_a_shutdown_writes_what_waits_at_once():
    async def scenario() -> None:
        outbox = outbox_for(MemoryStore())
        room = [Conn() for _ in range(COALESCE_AFTER)]
        for conn in room:
            outbox.owe(conn)
        await asyncio.sleep(0)
        for conn in room:
            outbox.owe(conn)
        await asyncio.sleep(0)
        assert outbox.coalesced == 1 and room[0].writes == 1  # waiting
        outbox.stopping = True
        outbox.flush()  # what the shutdown does
        assert [conn.writes for conn in room] == [2] * len(room)
        await asyncio.sleep(WAIT * 1.5)  # the cancelled wait writes nothing twice
        assert [conn.writes for conn in room] == [2] * len(room)

    asyncio.run(scenario())
