"""The in-process bus: the default, one node; or several nodes in one process (tests).

Publishing calls the receivers at once, on the publisher's stack: with one node, an
envelope costs one set lookup and one call on its way from the engine to the fan-out.
"""

from __future__ import annotations

from chinwag.bus.base import (
    Audience,
    Bus,
    Envelope,
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


def _nobody(envelope: Envelope) -> None:
    raise RuntimeError("publish before attach: the bus has no receiver")


class InProcessBus(Bus):
    def __init__(self, network: InProcessNetwork | None = None) -> None:
        self.network = network if network is not None else InProcessNetwork()
        self.network.buses.append(self)
        self._receiver: Receiver = _nobody
        self._rooms: set[str] = set()
        self._users: set[str] = set()
        self._closed = False

    def attach(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def subscribe(self, audience: Subscription) -> None:
        (self._rooms if type(audience) is ToRoom else self._users).add(audience.key)

    def unsubscribe(self, audience: Subscription) -> None:
        (self._rooms if type(audience) is ToRoom else self._users).discard(audience.key)

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
        if self._closed:
            return
        audience = envelope.audience
        if type(audience) is ToSession:
            self._receiver(envelope)
            return
        buses = self.network.buses
        if len(buses) == 1:  # the usual case: this node alone
            if self.wants(audience):
                self._receiver(envelope)
            return
        for bus in tuple(buses):
            if bus.wants(audience):
                bus._receiver(envelope)

    async def close(self) -> None:
        self._closed = True
        if self in self.network.buses:
            self.network.buses.remove(self)
