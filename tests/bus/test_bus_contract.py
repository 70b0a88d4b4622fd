"""The Bus contract: what every backend (in-process today, brokers later) must do.

Receivers only ever see what they subscribed to; negative checks wait behind a marker sent
to an audience the node does hear, since from one publisher envelopes arrive in order.
"""

from __future__ import annotations

import asyncio

from chinwag.bus.base import Bus, Envelope, ToRoom, ToRooms, ToSession, ToUser
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from tests.bus.conftest import Network
from tests.helpers import TIMEOUT


class Inbox:
    def __init__(self, bus: Bus) -> None:
        self.got: list[Envelope] = []
        bus.attach(self.got.append)

    def texts(self) -> list[str]:
        return [e.notice.message for e in self.got]  # type: ignore[union-attr]

    async def until(self, text: str) -> list[str]:
        """Everything received up to and including the marker `text` (bounded wait)."""
        async with asyncio.timeout(TIMEOUT):
            while text not in self.texts():
                await asyncio.sleep(0.001)
        return self.texts()


def say(text: str, audience: ToRoom | ToRooms | ToUser | ToSession, id_: int = 0) -> Envelope:
    return Envelope(audience, ev.Goodbye(text), id_)


MARK = ToUser("marker")


async def ready(*buses: Bus) -> None:
    """Subscriptions made so far are in effect (a broker has confirmed them)."""
    for bus in buses:
        await bus.ready()


def run(scenario) -> None:
    asyncio.run(scenario())


def test_a_subscribed_node_gets_room_envelopes_in_order_and_others_do_not(network: Network):
    async def scenario() -> None:
        a, b, c = await network.node(), await network.node(), await network.node()
        inboxes = [Inbox(bus) for bus in (a, b, c)]
        for bus in (a, b, c):
            bus.subscribe(MARK)
        a.subscribe(ToRoom("dev"))
        b.subscribe(ToRoom("dev"))
        await ready(a, b, c)
        for i in range(200):
            a.publish(say(f"m{i}", ToRoom("dev"), i + 1))
        a.publish(say("end", MARK))
        expected = [f"m{i}" for i in range(200)] + ["end"]
        assert await inboxes[0].until("end") == expected  # the publisher hears itself
        assert await inboxes[1].until("end") == expected
        assert await inboxes[2].until("end") == ["end"]
        assert [e.id for e in inboxes[1].got[:3]] == [1, 2, 3]
        for bus in (a, b, c):
            await bus.close()

    run(scenario)


def test_subscribe_is_idempotent_and_unsubscribe_stops_delivery(network: Network):
    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        inbox = Inbox(b)
        Inbox(a)
        b.subscribe(MARK)
        b.subscribe(ToRoom("dev"))
        b.subscribe(ToRoom("dev"))
        await ready(b)
        a.publish(say("once", ToRoom("dev")))
        a.publish(say("mark1", MARK))
        assert await inbox.until("mark1") == ["once", "mark1"]
        b.unsubscribe(ToRoom("dev"))
        b.unsubscribe(ToRoom("dev"))
        a.publish(say("gone", ToRoom("dev")))
        a.publish(say("mark2", MARK))
        assert await inbox.until("mark2") == ["once", "mark1", "mark2"]
        await a.close()
        await b.close()

    run(scenario)


def test_user_audiences_reach_the_nodes_of_that_user_only(network: Network):
    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        in_a, in_b = Inbox(a), Inbox(b)
        a.subscribe(ToUser("alice"))
        b.subscribe(ToUser("bob"))
        await ready(a, b)
        b.publish(say("to alice", ToUser("alice")))
        a.publish(say("to bob", ToUser("bob")))
        assert await in_a.until("to alice") == ["to alice"]
        assert await in_b.until("to bob") == ["to bob"]
        b.publish(say("late", ToUser("alice")))
        assert await in_a.until("late") == ["to alice", "late"]
        assert in_b.texts() == ["to bob"]
        await a.close()
        await b.close()

    run(scenario)


def test_an_envelope_for_several_rooms_reaches_a_node_once(network: Network):
    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        in_a, in_b = Inbox(a), Inbox(b)
        a.subscribe(ToRoom("dev"))
        a.subscribe(ToRoom("ops"))
        b.subscribe(ToRoom("ops"))
        b.subscribe(ToRoom("general"))
        b.subscribe(MARK)
        await ready(a, b)
        a.publish(say("renamed", ToRooms(("dev", "ops", "general"))))
        a.publish(say("elsewhere", ToRooms(("random",))))
        a.publish(say("mark", MARK))
        assert await in_a.until("renamed") == ["renamed"]
        assert await in_b.until("mark") == ["renamed", "mark"]
        await a.close()
        await b.close()

    run(scenario)


def test_a_session_audience_never_leaves_its_node(network: Network):
    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        in_a, in_b = Inbox(a), Inbox(b)
        b.subscribe(MARK)
        await ready(b)
        session = Session(peer="test", dialect="native")
        a.publish(say("just you", ToSession(session)))  # no subscription needed
        a.publish(say("mark", MARK))
        assert await in_a.until("just you") == ["just you"]
        assert await in_b.until("mark") == ["mark"]
        assert in_a.got[0].audience.session is session  # type: ignore[union-attr]
        await a.close()
        await b.close()

    run(scenario)


def test_a_closed_node_receives_nothing(network: Network):
    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        in_a, in_b = Inbox(a), Inbox(b)
        a.subscribe(MARK)
        b.subscribe(ToRoom("dev"))
        await ready(a, b)
        await b.close()
        a.publish(say("after close", ToRoom("dev")))
        a.publish(say("mark", MARK))
        await in_a.until("mark")  # the network delivered what was published after the close
        assert in_b.texts() == []
        await a.close()

    run(scenario)


def test_exclude_and_close_reach_the_publishing_node_and_close_every_node(network: Network):
    """`exclude` is a session of the publishing node: it is kept there (other nodes have no
    such session to leave out); `close` and the notice itself reach every node."""

    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        in_a, in_b = Inbox(a), Inbox(b)
        for bus in (a, b):
            bus.subscribe(ToRoom("dev"))
        await ready(a, b)
        joiner = Session(peer="test", dialect="native")
        joined = ev.UserJoined("dev", "alice", 1.5)
        a.publish(Envelope(ToRoom("dev"), joined, 0, exclude=joiner))
        chat = ev.ChatMessage(7, "dev", "alice", 'hi \u00e9\n"x"', 2.25)
        a.publish(Envelope(ToRoom("dev"), chat, 7, close="kicked"))
        async with asyncio.timeout(TIMEOUT):
            while len(in_b.got) < 2:
                await asyncio.sleep(0.001)
        assert [e.notice for e in in_a.got] == [joined, chat]
        assert [e.notice for e in in_b.got] == [joined, chat]
        assert in_a.got[0].exclude is joiner
        assert [(e.id, e.close) for e in in_a.got] == [(0, None), (7, "kicked")]
        assert [(e.id, e.close) for e in in_b.got] == [(0, None), (7, "kicked")]
        assert all(e.audience == ToRoom("dev") for e in in_b.got)
        await a.close()
        await b.close()

    run(scenario)


def test_unsubscribe_stops_delivery_at_once_even_before_ready(network: Network):
    """What a broker still had in flight for a room the node left is not delivered."""

    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        Inbox(a)
        in_b = Inbox(b)
        b.subscribe(ToRoom("dev"))
        b.subscribe(MARK)
        await ready(b)
        for i in range(50):
            a.publish(say(f"m{i}", ToRoom("dev")))
        b.unsubscribe(ToRoom("dev"))  # no ready(): in effect for delivery at once
        before = in_b.texts()  # in-process: all 50; a broker: what had arrived by now
        a.publish(say("mark", MARK))
        assert await in_b.until("mark") == [*before, "mark"]
        await a.close()
        await b.close()

    run(scenario)


def test_a_node_resubscribed_hears_the_room_again(network: Network):
    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        Inbox(a)
        in_b = Inbox(b)
        b.subscribe(MARK)
        for _ in range(3):  # churn, as members come and go
            b.subscribe(ToRoom("dev"))
            b.unsubscribe(ToRoom("dev"))
        b.subscribe(ToRoom("dev"))
        await ready(b)
        a.publish(say("back", ToRoom("dev")))
        a.publish(say("mark", MARK))
        assert await in_b.until("mark") == ["back", "mark"]
        await a.close()
        await b.close()

    run(scenario)


class Heard:
    """A node's presence side: the records it hears, and the snapshot it answers with."""

    def __init__(self, bus: Bus, node: str) -> None:
        self.got: list[bytes] = []
        bus.attach_presence(node, self.got.append, lambda: f"state of {node}".encode())

    async def until(self, record: bytes) -> list[bytes]:
        async with asyncio.timeout(TIMEOUT):
            while record not in self.got:
                await asyncio.sleep(0.001)
        return self.got


def test_presence_records_reach_every_other_node_in_order_and_never_the_publisher(
    network: Network,
):
    async def scenario() -> None:
        a, b, c = await network.node(), await network.node(), await network.node()
        heard = [Heard(bus, node) for bus, node in ((a, "na"), (b, "nb"), (c, "nc"))]
        await ready(a, b, c)
        records = [f"r{i}".encode() for i in range(100)]
        for record in records:
            a.publish_presence(record)
        assert await heard[1].until(b"r99") == records
        assert await heard[2].until(b"r99") == records
        b.publish_presence(b"from b")
        assert await heard[0].until(b"from b") == [b"from b"]  # nothing of its own
        for bus in (a, b, c):
            await bus.close()

    run(scenario)


def test_a_node_answers_for_its_snapshot_and_a_detached_or_unknown_one_does_not(
    network: Network,
):
    async def scenario() -> None:
        a, b = await network.node(), await network.node()
        Heard(a, "na")
        heard_b = Heard(b, "nb")
        await ready(a, b)
        assert await a.ask_presence("nb") == b"state of nb"
        assert await b.ask_presence("na") == b"state of na"
        assert await a.ask_presence("nobody") is None
        b.detach_presence()
        await ready(b)
        assert await a.ask_presence("nb") is None
        a.publish_presence(b"after")
        await ready(a, b)
        await asyncio.sleep(0.05)  # a record in flight would land now; none may
        assert heard_b.got == []
        for bus in (a, b):
            await bus.close()

    run(scenario)
