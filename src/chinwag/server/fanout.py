"""The fan-out: envelopes from the bus -> this node's connections, in order, batched.

Server layer, no sockets: it resolves an envelope's audience to this node's sessions (with
the engine's read side, `Memberships`), renders once per codec class (or per viewer where
the codec says so) and queues bytes on outlets; the outbox writes them after the commit.

Two batchings keep the Python work per recipient from growing with the number of messages
(docs/DEVELOPING.md, "Fan-out"); neither changes what a client receives or its order:

- a `Run` is consecutive envelopes to the same room (chat in a busy room): each member is
  queued the whole run once, when something else is delivered or at the flush;
- a `PresenceLog` (presence.py) holds the join/leave notices of a big room until the
  presence tick.

Both read the room's members late, so they must see membership as it was: the engine tells
the fan-out of every change before making it (`before`, engine/facts.py), and the fan-out
ends the run and settles the presence the session is owed. The same facts keep this node's
bus subscriptions: a room while it has a member here, a user while it is signed in here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any

from chinwag.bus.base import Audience, Bus, Envelope, ToRoom, ToSession, ToUser
from chinwag.engine.facts import Fact, Joined, Left, Renamed, SignedIn, SignedOut
from chinwag.engine.memberships import Memberships
from chinwag.engine.replay import Replay
from chinwag.engine.session import Session
from chinwag.protocol.codec import Codec
from chinwag.protocol.events import Notice, UserJoined, UserLeft
from chinwag.server.memory import release_free_memory
from chinwag.server.presence import PresenceLog
from chinwag.server.render import render_for

_PRESENCE = (UserJoined, UserLeft)

# Join/leave notices to a room of more than PRESENCE_AUDIENCE members wait for the presence
# tick: one write per member per tick, whatever the rooms and the joins, instead of one per
# member per join. The delay grows with the room (0.2 ms a member: 2 ms at 10, 20 ms at
# 100, capped at 150 ms), because so does the rate of joins.
PRESENCE_AUDIENCE = 10
PRESENCE_DELAY_PER_MEMBER = 0.0002
PRESENCE_MAX_DELAY = 0.15
# A tick that wrote this many bytes left the allocator holding the buffers of the writes
# the kernel could not take at once; give those pages back (see memory.py), and once more
# when the burst is over (TRIM_QUIET after the last big tick), since the transports free
# what they held only as the clients read it.
TRIM_AFTER = 4 << 20
TRIM_QUIET = 0.25


def presence_delay(audience: int) -> float:
    return min(PRESENCE_MAX_DELAY, PRESENCE_DELAY_PER_MEMBER * audience)


_UNKNOWN: frozenset[str] = frozenset({"\0unknown"})  # no name holds a NUL


def _singled_out(codec: Codec, notices: list[Notice]) -> frozenset[str] | None:
    """The viewers whose bytes for these notices may differ from others' with the same
    presence key (Codec.apart), or None when the codec cannot say so of every notice."""
    if codec.presence_key(None) is None:
        return None
    names: set[str] = set()
    for notice in notices:
        some = codec.apart(notice)
        if some is None:
            return None
        names.update(some)
    return frozenset(names)


class Run:
    """Envelopes to one room, back to back, waiting to be queued as one."""

    __slots__ = ("audience", "exclude", "needs", "notices")

    def __init__(self, envelope: Envelope, notice: Notice) -> None:
        self.audience = envelope.audience
        self.exclude = envelope.exclude
        self.notices: list[Notice] = [notice]
        self.needs = envelope.id

    def takes(self, envelope: Envelope, notice: Notice) -> bool:
        """Append the envelope if it has the same audience; members are read at the end."""
        audience = envelope.audience
        if audience is not self.audience and audience != self.audience:
            return False
        if envelope.exclude is not self.exclude:
            return False
        self.notices.append(notice)
        if envelope.id > self.needs:
            self.needs = envelope.id
        return True


class FanOut:
    def __init__(
        self,
        memberships: Memberships,
        bus: Bus,
        loop: asyncio.AbstractEventLoop,
        *,
        schedule_flush: Callable[[], None],
        flush: Callable[[], None],
    ) -> None:
        self.memberships = memberships
        self.bus = bus
        self.loop = loop
        self._schedule_flush = schedule_flush
        self._flush = flush
        self._run: Run | None = None
        self.deliveries = 0  # notices queued to connections (/metrics)
        self.presence_logs: dict[str, PresenceLog] = {}  # room key -> presence since the tick
        self._presence_timer: asyncio.TimerHandle | None = None
        self._trim_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ the bus receiver

    def receive(self, envelope: Envelope) -> None:
        """Queue an envelope for its recipients on this node, batching what a room is owed."""
        audience = envelope.audience
        notice = envelope.notice
        if isinstance(notice, Replay):  # history for one session, streamed by its connection
            self._stream(envelope, notice)
            return
        if type(audience) is ToRoom and envelope.close is None:
            if type(notice) in _PRESENCE:
                members = self.memberships.members(audience.key)
                if len(members) > PRESENCE_AUDIENCE:
                    self._log_presence(audience.key, members, envelope, notice)
                    return
            run = self._run
            if run is not None:
                if run.audience is audience and run.exclude is envelope.exclude:
                    run.notices.append(notice)  # Run.takes, inlined: the hot path
                    if envelope.id > run.needs:
                        run.needs = envelope.id
                    return
                if run.takes(envelope, notice):
                    return
                self.end_run()
            self._run = Run(envelope, notice)
            self._schedule_flush()
            return
        if self._run is not None:
            self.end_run()
        sessions = self._resolve(audience)
        if type(audience) is ToSession:
            outlet = audience.session.outlet
            if outlet is not None:
                outlet.codec.observe(notice)
        self._deliver([notice], sessions, envelope.exclude, envelope.id)
        if envelope.close is not None:
            for session in sessions:
                if session.outlet is not None:
                    session.outlet.close(envelope.close)

    def _stream(self, envelope: Envelope, replay: Replay) -> None:
        if self._run is not None:
            self.end_run()
        audience = envelope.audience
        assert type(audience) is ToSession, "a replay is for one session"
        outlet = audience.session.outlet
        if outlet is not None and not outlet.closed:
            outlet.stream(replay)

    def _resolve(self, audience: Audience) -> Collection[Session]:
        kind = type(audience)
        if kind is ToSession:
            return (audience.session,)  # type: ignore[union-attr]
        if kind is ToRoom:
            return self.memberships.members(audience.key)  # type: ignore[union-attr]
        if kind is ToUser:
            return self.memberships.sessions_of(audience.key)  # type: ignore[union-attr]
        everyone: dict[Session, None] = {}
        for key in audience.keys:  # type: ignore[union-attr]
            everyone.update(dict.fromkeys(self.memberships.members(key)))
        return everyone

    def end_run(self) -> None:
        """Queue the pending run now (before anything else is queued outside the fan-out)."""
        run, self._run = self._run, None
        if run is not None:
            members = self._resolve(run.audience)
            self._deliver(run.notices, members, run.exclude, run.needs)

    def _deliver(
        self,
        notices: list[Notice],
        to: Collection[Session],
        exclude: Session | None,
        needs: int,
    ) -> None:
        """Render once per codec class (or per viewer where the codec says so) and queue."""
        cache: dict[Any, bytes] = {}
        # Fast path: most recipients share one codec class that renders alike for everyone.
        fast_class: type | None = None
        fast_data = b""
        # Per-viewer codecs (IRC): codec class -> the viewers the run singles out (None: all),
        # and the run's bytes by presence key (unique across classes, as presence logs need).
        apart: dict[type, frozenset[str] | None] = {}
        by_key: dict[Any, bytes] = {}
        queued = 0
        for session in to:
            if session is exclude:
                continue
            conn = session.outlet
            if conn is None or conn.closed:
                continue
            codec = conn.codec
            if codec.__class__ is fast_class:
                data = fast_data
            elif not codec.personal:
                data = cache.get(codec.__class__)  # type: ignore[assignment]
                if data is None:
                    data = cache[codec.__class__] = render_for(codec, notices, 0, None, cache)
                fast_class, fast_data = codec.__class__, data
            else:
                viewer = session.name
                kind = codec.__class__
                named = apart.get(kind, _UNKNOWN)
                if named is _UNKNOWN:
                    named = apart[kind] = _singled_out(codec, notices)
                if named is not None and viewer not in named:
                    key = codec.presence_key(viewer)
                    data = by_key.get(key)  # type: ignore[assignment]
                    if data is None:
                        data = by_key[key] = render_for(codec, notices, 0, viewer, cache)
                else:
                    data = render_for(codec, notices, 0, viewer, cache)
            if data:
                conn.queue(data, needs)
                queued += 1
        self.deliveries += queued * len(notices)

    # ------------------------------------------------------------------ membership facts

    def before(self, fact: Fact) -> None:
        """A membership or identity change is about to happen: settle what is batched."""
        kind = type(fact)
        if kind is Joined or kind is Left:
            session = fact.session
            room = fact.room  # type: ignore[union-attr]
            self.end_run()
            if self.presence_logs:
                self._settle(session)
            members = room.members
            if kind is Joined:
                if not members:
                    self.bus.subscribe(room.audience)
            elif len(members) == 1 and session in members:
                self.bus.unsubscribe(room.audience)
        elif kind is Renamed:
            self.end_run()  # a run rendered after the rename would miss the own-echo rule
            self.bus.unsubscribe(ToUser(fact.old.key))  # type: ignore[union-attr]
            self.bus.subscribe(ToUser(fact.new.key))  # type: ignore[union-attr]
        elif kind is SignedIn:
            self.bus.subscribe(ToUser(fact.identity.key))  # type: ignore[union-attr]
        elif kind is SignedOut:
            identity = fact.session.identity
            if identity is not None:
                self.bus.unsubscribe(ToUser(identity.key))

    def _settle(self, session: Session) -> None:
        """The session gets what the presence logs owe it while its membership is unchanged."""
        cache: dict[Any, bytes] = {}
        owed = b"".join([log.settle(session, cache) for log in self.presence_logs.values()])
        if owed and session.outlet is not None:
            session.outlet.queue(owed, 0)

    # ------------------------------------------------------------------ presence

    def _log_presence(
        self, room: str, members: Collection[Session], envelope: Envelope, notice: Notice
    ) -> None:
        """A join/leave in a big room: one entry in its log instead of a write per member."""
        self.end_run()
        log = self.presence_logs.get(room)
        if log is None:
            log = self.presence_logs[room] = PresenceLog(members)
            # One tick for all rooms, as late as the biggest pending room allows: a member
            # of several rooms is then written once per tick, not once per room.
            due = self.loop.time() + presence_delay(len(members))
            timer = self._presence_timer
            if timer is None or timer.when() < due:
                if timer is not None:
                    timer.cancel()
                self._presence_timer = self.loop.call_at(due, self.presence_tick)
        log.append(notice, envelope.exclude)

    def owed_presence(self, session: Session | None) -> bytes:
        """Presence a connection is owed, to go out before anything else it is sent now."""
        if session is None or session.outlet is None:
            return b""
        codec = session.outlet.codec
        cache: dict[Any, bytes] = {}
        owed = b""
        for key in session.rooms:
            log = self.presence_logs.get(key)
            if log is not None:
                owed += log.owed(session, codec, cache)
        return owed

    def presence_tick(self) -> None:
        """The presence tick: every member of every logged room gets what it is owed."""
        self._presence_timer = None
        self.end_run()
        logs = dict(self.presence_logs)
        self.presence_logs.clear()  # cleared, not replaced: connections read this dict
        written = 0
        for log in logs.values():
            cache: dict[Any, bytes] = {}
            for session in log.to:
                conn = session.outlet
                if conn is None or conn.closed:
                    continue
                data = log.owed(session, conn.codec, cache)
                if data:
                    written += len(data)
                    conn.queue(data, 0)
        self._flush()
        if written > TRIM_AFTER:
            release_free_memory()
            if self._trim_timer is not None:
                self._trim_timer.cancel()
            self._trim_timer = self.loop.call_later(TRIM_QUIET, self._trim_after_burst)

    def _trim_after_burst(self) -> None:
        self._trim_timer = None
        release_free_memory()

    def stop(self) -> None:
        for timer in (self._presence_timer, self._trim_timer):
            if timer is not None:
                timer.cancel()
        self._presence_timer = self._trim_timer = None
