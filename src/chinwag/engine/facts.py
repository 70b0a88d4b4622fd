"""Membership facts: what the engine tells whoever batches deliveries, *before* it changes.

The server's fan-out keeps batches that read a room's members late (runs) and presence owed
to members (presence logs); both must see the membership as it was when they were made. So
every change of who is in which room, and of who a session is, goes through `Memberships`,
which announces it here first. A handler (join, leave, a moderator's kick) therefore never
has to call the fan-out itself: keeping its invariants is not the handler's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chinwag.engine.identity import Identity
    from chinwag.engine.room import Room
    from chinwag.engine.session import Session


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The session is about to be admitted under `identity`."""

    session: Session
    identity: Identity


@dataclass(frozen=True, slots=True)
class SignedOut:
    """The session is about to stop being anyone (its connection is gone)."""

    session: Session


@dataclass(frozen=True, slots=True)
class Renamed:
    """The session is about to be known by `new` instead of `old`."""

    session: Session
    old: Identity
    new: Identity


@dataclass(frozen=True, slots=True)
class Joined:
    """The session is about to become a member of `room`."""

    session: Session
    room: Room


@dataclass(frozen=True, slots=True)
class Left:
    """The session is about to stop being a member of `room`; `by` removed it (or None)."""

    session: Session
    room: Room
    by: Identity | None = None


Fact = SignedIn | SignedOut | Renamed | Joined | Left


class FactListener(Protocol):
    def before(self, fact: Fact) -> None:
        """Called before the change is made; it must not call back into the engine."""


class NoListener:
    """Nothing batches deliveries (engine tests): facts are dropped."""

    def before(self, fact: Fact) -> None:
        pass


class FactListeners:
    """Several listeners, told in order (the fan-out, then shared presence)."""

    def __init__(self, *listeners: FactListener) -> None:
        self.listeners = listeners

    def before(self, fact: Fact) -> None:
        for listener in self.listeners:
            listener.before(fact)
