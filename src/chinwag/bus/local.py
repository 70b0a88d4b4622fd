"""The in-process bus: the default, one node; or several nodes in one process (tests).

Publishing calls the receivers at once, on the publisher's stack: with one node, an
envelope to a room costs one dict lookup and one call on its way to the fan-out. (Dicts,
not sets, hold the subscriptions: for thousands of users a set's table is three times
the size.)
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

    async def close(self) -> None:
        self._receiver = _closed
        if self in self.network.buses:
            self.network.buses.remove(self)
            self.network.changed()
