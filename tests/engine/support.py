"""An engine without sockets: commands in, envelopes out, audiences resolved like the fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from chinwag.bus.base import Envelope, ToRoom, ToRooms, ToSession, ToUser
from chinwag.engine.engine import Engine
from chinwag.engine.facts import Fact
from chinwag.engine.limits import Limits
from chinwag.engine.replay import Replay
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.storage.base import Store
from chinwag.storage.memory import MemoryStore

T0 = 1000.0


class Facts:
    """A fact listener that records facts with the membership it saw when told."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[Fact, bool]] = []  # (fact, was the session in the room then)

    def before(self, fact: Fact) -> None:
        room = getattr(fact, "room", None)
        member = room is not None and fact.session in room.members
        self.seen.append((fact, member))


class Harness:
    def __init__(self, store: Store | None = None, **limits: float) -> None:
        self.engine = Engine(store or MemoryStore(), limits=Limits(**limits))  # type: ignore[arg-type]
        self.now = T0
        self.facts = Facts(self.engine)
        self.engine.listen(self.facts)
        asyncio.run(self.engine.start())

    def session(self) -> Session:
        return self.engine.open_session(peer="test", dialect="native")

    def handle(self, session: Session, command: ev.Command) -> list[Envelope]:
        return self.engine.handle(session, command, self.now)

    def connect(self, name: str | None) -> Session:
        session = self.session()
        out = self.handle(session, ev.Join(name))
        assert isinstance(inbox(self.engine, out, session)[0], ev.Welcome)
        return session


def recipients(engine: Engine, envelope: Envelope) -> set[Session]:
    """Who an envelope reaches on this node, resolved now (as the fan-out does, late)."""
    audience = envelope.audience
    found: set[Session] = set()
    if isinstance(audience, ToSession):
        found = {audience.session}
    elif isinstance(audience, ToRoom):
        found = set(engine.memberships.members(audience.key))
    elif isinstance(audience, ToUser):
        found = set(engine.memberships.sessions_of(audience.key))
    elif isinstance(audience, ToRooms):
        for key in audience.keys:
            found |= set(engine.memberships.members(key))
    found.discard(envelope.exclude)
    return found


def inbox(
    engine: Engine, envelopes: Iterable[Envelope], session: Session
) -> list[ev.Notice | Replay]:
    return [e.notice for e in envelopes if session in recipients(engine, e)]


def only_error(envelopes: list[Envelope]) -> ev.Error:
    assert len(envelopes) == 1
    notice = envelopes[0].notice
    assert isinstance(notice, ev.Error), notice
    return notice
