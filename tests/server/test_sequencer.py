"""The sequencer on a real PostgreSQL: a message waits for its final id; a sender's later
replies wait behind it, others' do not; frames from another node are delivered in id order,
a lost one is read from the store (at the next frame, or by the poll when it was the last),
a duplicate is dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from chinwag.bus.base import Envelope, ToRoom, ToSession
from chinwag.bus.local import InProcessBus
from chinwag.engine.replay import Replay
from chinwag.engine.session import Session
from chinwag.protocol.events import ChatMessage, PongReply
from chinwag.server.sequencer import Sequencer
from chinwag.storage.postgres import PostgresStore
from tests.helpers import TIMEOUT
from tests.postgres_support import PG_URL, fresh_schema
from tests.storage.test_store_contract import chat, run

GENERAL = ToRoom("general")


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema() as name:
        yield name


class Node:
    """A sequencer over its own store, delivering into a list."""

    def __init__(self, schema: str) -> None:
        self.store = PostgresStore(PG_URL, schema=schema)
        self.bus = InProcessBus()
        self.got: list[Envelope] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.sequencer = Sequencer(
            self.store,
            self.bus,
            self.got.append,
            spawn=self.spawn,
            schedule_commit=lambda: None,
            members=lambda key: ["someone"],
            poll_every=3600,  # the test polls by hand
        )
        self.bus.attach(self.sequencer.receive)
        self.bus.subscribe(GENERAL)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def open(self) -> None:
        await self.store.open()
        self.sequencer.known = self.store.last_id

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.store.close()

    def ids(self) -> list[int]:
        return [e.notice.id for e in self.got if not isinstance(e.notice, Replay)]  # type: ignore[union-attr]

    async def has(self, count: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            while len(self.got) < count:
                await asyncio.sleep(0.01)


async def frames(store: PostgresStore, count: int) -> list[Envelope]:
    """`count` chats committed by another node, as that node's frames would carry them."""
    taken = [store.next_id() for _ in range(count)]
    for id_ in taken:
        store.append(chat(id_, text=f"said {id_}"))
    await store.commit()
    out = []
    for id_ in taken:
        final = store.settled(id_)
        assert final is not None
        notice = ChatMessage(final[0], "general", "alice", f"said {id_}", 1.0)
        out.append(Envelope(GENERAL, notice, final[0], prev=final[1]))
    return out


def test_a_message_waits_for_its_commit_and_goes_out_with_its_final_id(schema: str) -> None:
    async def scenario() -> None:
        node, other = Node(schema), PostgresStore(PG_URL, schema=schema)
        await node.open()
        await other.open()
        mine = node.store.next_id()  # provisional 1
        node.store.append(chat(mine, text="mine"))
        node.sequencer.publish(Envelope(GENERAL, chat(mine, text="mine"), mine))
        node.sequencer.publish(Envelope(GENERAL, chat(0, text="behind")))  # no id: waits too
        assert node.got == []
        theirs = await frames(other, 2)  # the other node commits first: ids 1 and 2
        await node.store.commit()
        node.sequencer.release()
        node.sequencer.receive(theirs[0])
        node.sequencer.receive(theirs[1])
        await node.has(4)
        # in id order: ours (final id 3) said its room's previous message was 2, so the
        # other node's two were read from the store first; their frames are duplicates
        assert node.ids() == [1, 2, 3, 0]
        texts = [e.notice.message for e in node.got]  # type: ignore[union-attr]
        assert texts == ["said 1", "said 2", "mine", "behind"]
        assert [e.id for e in node.got] == [0, 0, 0, 0]  # committed: nothing gates them here
        assert node.sequencer.gaps == 1 and node.sequencer.duplicates == 2
        await node.close()
        await other.close()

    run(scenario())


def test_a_lost_frame_is_read_from_the_store_and_a_duplicate_dropped(schema: str) -> None:
    async def scenario() -> None:
        node, other = Node(schema), PostgresStore(PG_URL, schema=schema)
        await node.open()
        await other.open()
        one, two, three = await frames(other, 3)
        node.sequencer.receive(one)
        # `two` is lost on the way
        node.sequencer.receive(three)
        await node.has(3)
        assert node.ids() == [1, 2, 3]
        assert node.sequencer.gaps == 1
        node.sequencer.receive(two)  # late, or twice
        node.sequencer.receive(three)
        assert node.ids() == [1, 2, 3] and node.sequencer.duplicates == 2
        (four,) = await frames(other, 1)  # lost, and nothing follows it
        await node.sequencer._catch_up()  # the poll
        assert node.ids() == [1, 2, 3, 4]
        node.sequencer.receive(four)
        assert node.ids() == [1, 2, 3, 4]
        await node.close()
        await other.close()

    run(scenario())


def test_a_room_a_node_starts_hearing_late_begins_at_what_is_committed(schema: str) -> None:
    """The baseline of a room new to the node is the highest id committed that it knows:
    what came before is the joiner's replay, not live."""

    async def scenario() -> None:
        node, other = Node(schema), PostgresStore(PG_URL, schema=schema)
        await node.open()
        await other.open()
        early = await frames(other, 2)
        node.sequencer.known = 2  # learnt meanwhile (another room's frame, the poll)
        for envelope in early:  # late frames of before the baseline
            node.sequencer.receive(envelope)
        assert node.got == []
        (later,) = await frames(other, 1)
        node.sequencer.receive(later)
        assert node.ids() == [3]
        await node.close()
        await other.close()

    run(scenario())


def test_a_senders_later_replies_wait_behind_its_message_and_others_do_not(schema: str) -> None:
    async def scenario() -> None:
        node = Node(schema)
        await node.open()
        sender, other = Session(peer="a", dialect="native"), Session(peer="b", dialect="native")
        mine = node.store.next_id()
        node.store.append(chat(mine))
        node.sequencer.publish(Envelope(GENERAL, chat(mine), mine), sender)
        node.sequencer.publish(Envelope(ToSession(sender), PongReply(1.0, "sender")))
        node.sequencer.publish(Envelope(ToSession(other), PongReply(1.0, "other")))
        assert [type(e.notice).__name__ for e in node.got] == ["PongReply"]  # the other's
        await node.store.commit()
        node.sequencer.release()
        got = [
            e.notice.token if isinstance(e.notice, PongReply) else e.notice.id  # type: ignore[union-attr]
            for e in node.got
        ]
        assert got == ["other", 1, "sender"]  # the echo, then the sender's pong
        await node.close()

    run(scenario())


def test_a_rejoin_from_a_node_that_was_ahead_is_left_out_of_what_it_had(schema: str) -> None:
    """A client saw up to id 3 on another node and rejoins here with since=3 while this node
    has delivered only 1: the room's 2 and 3 still reach this node's other members, not it."""

    async def scenario() -> None:
        node, other = Node(schema), PostgresStore(PG_URL, schema=schema)
        await node.open()
        await other.open()
        one, two, three, four = await frames(other, 4)
        node.sequencer.receive(one)
        joiner = Session(peer="j", dialect="native")
        rejoin = Replay(rooms=("general",), since=3, upto=3, limit=100)
        node.sequencer.publish(Envelope(ToSession(joiner), rejoin))
        replay = node.got[-1].notice
        assert isinstance(replay, Replay) and replay.bounds == (("general", 1),)
        for envelope in (two, three, four):
            node.sequencer.receive(envelope)
        assert node.ids()[-3:] == [2, 3, 4]
        assert [e.exclude for e in node.got[-3:]] == [joiner, joiner, None]
        await node.close()
        await other.close()

    run(scenario())
