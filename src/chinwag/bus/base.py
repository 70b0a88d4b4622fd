"""Audiences, envelopes and the `Bus` interface.

    engine --(Envelope: audience + notice + id)--> Bus.publish
    Bus --> every node subscribed to that audience --> its receiver (the node's fan-out)

- `ToRoom` / `ToRooms` / `ToUser` reach every node that subscribed to the room or user;
  a node subscribes while it has a member of the room, or a session of the user, on it.
- `ToSession` is one connection: it never leaves the node that published it.
- Per audience, envelopes from one publisher reach each receiver in the order they were
  published. A subscription is in effect once `ready()` returns (at once in-process).
- Beside envelopes, a presence channel: opaque records every other node hears, and a
  request for one node's snapshot (shared presence, server/nodes.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chinwag.protocol.events import Notice

if TYPE_CHECKING:
    from chinwag.engine.replay import Replay
    from chinwag.engine.session import Session


@dataclass(frozen=True, slots=True)
class ToRoom:
    """Every member of a room."""

    key: str


@dataclass(frozen=True, slots=True)
class ToRooms:
    """Every member of any of these rooms, once (a rename reaches all who share a room)."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ToUser:
    """Every session of a user (by identity key)."""

    key: str


@dataclass(frozen=True, slots=True, eq=False)
class ToSession:
    """One session, on the node that published it."""

    session: Session


Audience = ToRoom | ToRooms | ToUser | ToSession
Subscription = ToRoom | ToUser


@dataclass(slots=True)
class Envelope:
    """A notice for an audience.

    `id` is the stored message the notice depends on: nobody receives it before that id is
    durable (0: depends on nothing). `exclude` is a session of the audience that must not
    receive it (a joiner is not told of its own join). `close` asks the fan-out to close
    the recipients once the notice is written (a goodbye). A `Replay` in place of a notice
    (to a session only) is history the session's connection streams as the client reads.
    `prev` is, for a room message of a store that numbers in commit order, the id of the
    room's message before it (0: none): a node that has not delivered that one has a gap to
    fetch from the store (server/sequencer.py).
    """

    audience: Audience
    notice: Notice | Replay
    id: int = 0
    exclude: Session | None = None
    close: str | None = None
    prev: int = 0


Receiver = Callable[[Envelope], None]
# Shared presence (server/nodes.py): records are opaque bytes to the bus.
PresenceReceiver = Callable[[bytes], None]
PresenceSnapshot = Callable[[], bytes]


class Bus(ABC):
    """One node's attachment to the bus."""

    @abstractmethod
    def attach(self, receiver: Receiver) -> None:
        """Where this node's envelopes go (its fan-out). Set once, before publishing."""

    @abstractmethod
    def subscribe(self, audience: Subscription) -> None:
        """Receive envelopes for this room or user from now on (idempotent)."""

    @abstractmethod
    def unsubscribe(self, audience: Subscription) -> None:
        """Stop receiving them (idempotent)."""

    @abstractmethod
    def publish(self, envelope: Envelope) -> None:
        """Send an envelope to every subscribed node, this one included. Never blocks."""

    async def ready(self) -> None:  # noqa: B027 (in-process: effective at once)
        """Return once every subscribe and unsubscribe made before the call is in effect.

        In-process they are at once; a broker confirms them over the network. Publishing
        never waits for this: it is for whoever must know that a node now hears a room
        (tests; a node that must not miss what follows a join).
        """

    def durable(self, committed_id: int) -> None:  # noqa: B027 (in-process: the fan-out gates)
        """The store has made every id up to this one durable (the server says so after
        each commit). A bus that leaves the process sends what depends on a message only
        once it is durable, so no other node shows what this one may still fail to store."""

    def forget(self, ids: Collection[int]) -> None:  # noqa: B027
        """The store gave up on these ids (their senders were told): never send them."""

    # Shared presence: a channel beside the envelopes on which nodes tell each other who is
    # signed in (records, heartbeats, directives; server/nodes.py), and a request for one
    # node's whole state. A backend that does not carry it leaves each node alone.

    def attach_presence(  # noqa: B027 (a backend without presence: nodes see no one else)
        self, node: str, receiver: PresenceReceiver, snapshot: PresenceSnapshot
    ) -> None:
        """This node's id; where the other nodes' presence records go (called on the event
        loop, never on the publisher's stack); what answers a request for this node's
        snapshot. Set once, before `start`."""

    def detach_presence(self) -> None:  # noqa: B027
        """Stop hearing presence and answering for this node (a node going silent)."""

    def publish_presence(self, record: bytes) -> None:  # noqa: B027
        """Send a record to every other node (not this one), in the order published.
        Never blocks, and is not held behind envelopes waiting for the store."""

    async def ask_presence(self, node: str) -> bytes | None:
        """That node's snapshot (what its `snapshot` returns), or None if it does not
        answer within a few seconds."""
        return None

    async def start(self) -> None:  # noqa: B027 (most backends need no connecting)
        """Connect to the broker, if any."""

    async def close(self) -> None:  # noqa: B027 (nor disconnecting)
        """Disconnect; nothing is received afterwards."""
