"""The in-process bus: the default, one node; or several nodes in one process (tests).

Publishing calls the receivers at once, on the publisher's stack: with one node, an
envelope to a room costs one dict lookup and one call on its way to the fan-out. (Dicts,
not sets, hold the subscriptions: for thousands of users a set's table is three times
the size.)

Presence records (shared presence, server/nodes.py) go to the other buses of the network
with `call_soon`, as a broker would deliver them: never on the publisher's stack, where
they would reach another node's engine in the middle of a handler of this one.
"""

from __future__ import annotations

import asyncio

from chinwag.bus.base import (
    Audience,
    Bus,
    Envelope,
    PresenceReceiver,
    PresenceSnapshot,
    Receiver,
    Subscription,
    ToRoom,
    ToRooms,
    ToSession,
    ToUser,
)


class InProcessNetwork:
    """The buses that can hear each other."""

    def __init__(self) -> None:
        self.buses: list[InProcessBus] = []

    def changed(self) -> None:
        alone = len(self.buses) == 1
        for bus in self.buses:
            bus.alone = alone


def _nobody(envelope: Envelope) -> None:
    raise RuntimeError("publish before attach: the bus has no receiver")


def _closed(envelope: Envelope) -> None:
    pass


class InProcessBus(Bus):
    def __init__(self, network: InProcessNetwork | None = None) -> None:
        self.network = network if network is not None else InProcessNetwork()
        self._receiver: Receiver = _nobody
        self._rooms: dict[str, None] = {}
        self._users: dict[str, None] = {}
        self.alone = True  # the only bus on its network (kept by the network)
        self.node = ""  # shared presence (attach_presence)
        self._presence: PresenceReceiver | None = None
        self._snapshot: PresenceSnapshot | None = None
        self.network.buses.append(self)
        self.network.changed()

    def attach(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def subscribe(self, audience: Subscription) -> None:
        (self._rooms if type(audience) is ToRoom else self._users)[audience.key] = None

    def unsubscribe(self, audience: Subscription) -> None:
        (self._rooms if type(audience) is ToRoom else self._users).pop(audience.key, None)

    def wants(self, audience: Audience) -> bool:
        kind = type(audience)
        if kind is ToRoom:
            return audience.key in self._rooms  # type: ignore[union-attr]
        if kind is ToUser:
            return audience.key in self._users  # type: ignore[union-attr]
        if kind is ToRooms:
            rooms = self._rooms
            return any(key in rooms for key in audience.keys)  # type: ignore[union-attr]
        return False  # a session is only ever local: see publish

    def publish(self, envelope: Envelope) -> None:
        audience = envelope.audience
        kind = type(audience)
        if self.alone:  # the usual case: this node alone
            if kind is ToRoom:
                if audience.key in self._rooms:  # type: ignore[union-attr]
                    self._receiver(envelope)
            elif kind is ToSession or self.wants(audience):
                self._receiver(envelope)
            return
        if kind is ToSession:
            self._receiver(envelope)
            return
        for bus in tuple(self.network.buses):
            if bus.wants(audience):
                bus._receiver(envelope)

    # ------------------------------------------------------------------ presence

    def attach_presence(
        self, node: str, receiver: PresenceReceiver, snapshot: PresenceSnapshot
    ) -> None:
        self.node = node
        self._presence = receiver
        self._snapshot = snapshot

    def detach_presence(self) -> None:
        self._presence = self._snapshot = None

    def publish_presence(self, record: bytes) -> None:
        if self.alone or self._presence is None:
            return  # nobody to tell; a node that comes later asks for a snapshot
        loop = asyncio.get_running_loop()
        for bus in self.network.buses:
            if bus is not self:  # later, as a broker would: never on the publisher's stack
                loop.call_soon(bus._heard, record)

    def _heard(self, record: bytes) -> None:
        receiver = self._presence
        if receiver is not None:
            receiver(record)

    async def ask_presence(self, node: str) -> bytes | None:
        await asyncio.sleep(0)
        for bus in self.network.buses:
            if bus is not self and bus.node == node and bus._snapshot is not None:
                return bus._snapshot()
        return None

    async def close(self) -> None:
        self.detach_presence()
        self._receiver = _closed
        if self in self.network.buses:
            self.network.buses.remove(self)
            self.network.changed()
