"""Ids in commit order and rooms in id order, for servers that share a store (PostgreSQL).

Server layer. Used only with a store whose ids are final at commit (`Store.ids_at_commit`);
with the others (SQLite, memory) nothing of this runs and the engine's envelopes go straight
to the bus, as before.

Outgoing (engine -> bus): the engine numbers a message with a *provisional* id (the store
cannot answer the network synchronously). The sequencer holds that envelope, and, for order,
everything published after it, until the store's commit has mapped the id to its final one
(`Store.settled`: the next id of the shared counter, taken in the committing transaction,
and the id of the room's message before it, `prev`). It then rewrites the notice with the
final id and publishes it, committed already: the bus's frames and this node's fan-out need
not wait for anything any more.

Incoming (bus -> fan-out), per room: the node keeps the last id it delivered (`delivered`).
A frame whose `prev` is above it means frames were lost (NATS core is at-most-once) or are
late: the room's frames wait while the missing messages are read from the store (off the
loop), delivered in order, then the frame. A frame at or below it is a duplicate (the store
or an earlier frame delivered it) and is dropped. A lost *last* message is found by the
poll: every POLL_EVERY seconds (and when the bus reconnects) the store's counter is read,
and if it is past what this node knows, every room is caught up from the store.

A room's baseline is set when the node first delivers it or a session joins it: the highest
id known committed then (`known`). The replay a joiner is sent reads the store up to the
room's `delivered` at that moment (`Replay.bounds`), and everything after reaches it live:
exactly once, in order. A welcome's `last_id` is the lowest of its rooms' bounds, so a client
resuming from it misses nothing.

What this node holds never holds up the delivery of what it receives: a room's messages
reach the fan-out in id order, as they are decided. A joiner's welcome is not held behind
other sessions' messages, so nothing of a room reaches it before its welcome; a message of
this node held at that moment gets an id above the joiner's bound, or was delivered
already (a later frame's gap read it from the store) and is dropped as a duplicate.

Private messages carry no `prev` (they have no single order across senders): they are
delivered when their frame arrives, at most once live, and a `since` rejoin replays those
committed before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from chinwag.bus.base import Bus, Envelope, Receiver, ToRoom, ToSession
from chinwag.engine.replay import Replay
from chinwag.engine.session import Session
from chinwag.errors import StoreError
from chinwag.protocol.events import StoredNotice, Welcome
from chinwag.storage.base import MAX_PAGE, Store

log = logging.getLogger("chinwag.server")

POLL_EVERY = 1.0  # seconds between reads of the shared counter (a lost last message)
RETRY_READ = 0.5  # seconds before a failed gap read is tried again


class RoomOrder:
    """What one room has had delivered on this node."""

    __slots__ = ("audience", "delivered", "fetching", "floors", "waiting")

    def __init__(self, key: str, delivered: int) -> None:
        self.audience = ToRoom(key)
        self.delivered = delivered  # every message of the room up to this id is delivered
        self.fetching = False  # a gap is being read from the store
        self.waiting: list[Envelope] = []  # frames that arrived meanwhile
        # A session that rejoined with `since` above `delivered` (it came from a node that
        # was ahead of this one) has had the messages up to its `since`: it is left out of
        # them here.
        self.floors: dict[Session, int] = {}


class Sequencer:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        deliver: Receiver,
        *,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        schedule_commit: Callable[[], None],
        members: Callable[[str], Collection[object]],
        poll_every: float = POLL_EVERY,
    ) -> None:
        self.store = store
        self.bus = bus
        self._deliver = deliver  # the fan-out
        self._spawn = spawn
        self._schedule_commit = schedule_commit  # the outbox's flush: it commits
        self._members = members  # this node's members of a room
        self.poll_every = poll_every
        # Held envelopes, in the order published, each with the session whose later
        # replies must wait behind it (its sender; None for another audience's).
        self._held: deque[tuple[Envelope, Session | None]] = deque()
        self._owing: dict[Session, int] = {}  # session -> its held envelopes
        self._last_final: tuple[int, int, int] = (0, 0, 0)  # provisional, final, prev
        self.rooms: dict[str, RoomOrder] = {}
        self.known = store.last_id  # every id up to this one is committed (by someone)
        self._polled = self.known
        self._wake = asyncio.Event()  # a catch-up is wanted now (the bus reconnected)
        self.gaps = 0  # gaps read from the store (/metrics, tests)
        self.duplicates = 0  # frames dropped as delivered already

    def start(self) -> None:
        self.known = self._polled = self.store.last_id
        self._spawn(self._poll())

    # ------------------------------------------------------------------ engine -> bus

    def publish(self, envelope: Envelope, origin: Session | None = None) -> None:
        """An envelope of this node's engine (its id, if any, is provisional); `origin` is
        the session whose command made it.

        What carries an id waits for its commit. Behind it wait the later envelopes to
        its sender (a pong comes after the echo of the chat before it) and to rooms and
        users (a leave after the last words); a reply to another session does not wait
        (a joiner's welcome goes out at once, and what follows reaches it after it).
        """
        audience = envelope.audience
        if type(audience) is ToSession:
            owner: Session | None = audience.session
            if not envelope.id and owner not in self._owing:
                self._send(envelope)
                return
        elif envelope.id:
            owner = origin
        elif self._held:
            owner = None
        else:
            self._send(envelope)
            return
        self._held.append((envelope, owner))
        if owner is not None:
            self._owing[owner] = self._owing.get(owner, 0) + 1
        self._schedule_commit()

    def publish_all(self, envelopes: list[Envelope], origin: Session) -> None:
        for envelope in envelopes:
            self.publish(envelope, origin)

    def _unhold(self, owner: Session | None) -> None:
        if owner is not None:
            left = self._owing.pop(owner) - 1
            if left:
                self._owing[owner] = left

    def release(self, committed: int = 0) -> None:
        """A commit ended (the outbox, whenever the committed id moved): publish what no
        longer waits for one, with final ids."""
        held = self._held
        while held:
            envelope, owner = held[0]
            if envelope.id:
                final = self._final(envelope.id)
                if final is None:
                    break  # its commit is still to come
                notice = dataclasses.replace(envelope.notice, id=final[0])  # type: ignore[arg-type]
                envelope = Envelope(
                    envelope.audience, notice, final[0], envelope.exclude, envelope.close,
                    final[1],
                )  # fmt: skip
            held.popleft()
            self._unhold(owner)
            self._send(envelope)

    def _final(self, provisional: int) -> tuple[int, int] | None:
        last = self._last_final
        if last[0] == provisional:  # a private message's second envelope (the echo)
            return last[1], last[2]
        final = self.store.settled(provisional)
        if final is not None:
            self._last_final = (provisional, *final)
        return final

    def forget(self, ids: Collection[int]) -> None:
        """The store gave up on these provisional ids: never publish them."""
        held = self._held
        for _ in range(len(held)):
            envelope, owner = held.popleft()
            if envelope.id in ids:
                self._unhold(owner)
            else:
                held.append((envelope, owner))
        self.release()

    def _send(self, envelope: Envelope) -> None:
        notice = envelope.notice
        kind = type(notice)
        if kind is Welcome or kind is Replay:
            envelope = self._bounded(envelope)
        self.bus.publish(envelope)

    def _bounded(self, envelope: Envelope) -> Envelope:
        """A joiner's welcome and replay end where this node's live delivery begins."""
        audience = envelope.audience
        notice = envelope.notice
        if type(audience) is not ToSession:
            return envelope
        if type(notice) is Welcome:
            last_id = min(
                (self._room(key).delivered for key in audience.session.rooms), default=self.known
            )
            return dataclasses.replace(
                envelope, notice=dataclasses.replace(notice, last_id=last_id)
            )
        assert isinstance(notice, Replay)
        rooms = notice.rooms
        if notice.limit:  # a rejoin with `since`
            for key in rooms:
                room = self._room(key)
                if notice.since > room.delivered:
                    room.floors[audience.session] = notice.since
        bounds = tuple((key, self._room(key).delivered) for key in rooms) or (("", self.known),)
        replay = dataclasses.replace(notice, bounds=bounds, upto=self.known if notice.limit else 0)
        return dataclasses.replace(envelope, notice=replay)

    # ------------------------------------------------------------------ bus -> fan-out

    def receive(self, envelope: Envelope) -> None:
        """The bus receiver: this node's own envelopes (final ids) and other nodes' frames."""
        audience = envelope.audience
        if type(audience) is ToRoom:
            room = self.rooms.get(audience.key)
            if not envelope.id:  # presence: in its place among the room's messages
                if room is not None and room.fetching:
                    room.waiting.append(envelope)
                else:
                    self._deliver(envelope)
                return
            if room is None:
                room = self._room(audience.key)  # the baseline, before this id is known
            if envelope.id > self.known:
                self.known = envelope.id
            if room.fetching:
                room.waiting.append(envelope)
            else:
                self._in_order(room, envelope)
            return
        if not envelope.id:
            self._deliver(envelope)
            return
        if envelope.id > self.known:
            self.known = envelope.id
        # A private message: committed already, whoever sent it (no gate on this node's id).
        self._deliver(dataclasses.replace(envelope, id=0))

    def _room(self, key: str) -> RoomOrder:
        room = self.rooms.get(key)
        if room is None:
            room = self.rooms[key] = RoomOrder(key, self.known)
        return room

    def _in_order(self, room: RoomOrder, envelope: Envelope) -> None:
        if envelope.id <= room.delivered:
            self.duplicates += 1
            return
        if envelope.prev > room.delivered:  # lost or late frames before this one
            room.fetching = True
            room.waiting.append(envelope)
            self.gaps += 1
            self._spawn(self._fill(room))
            return
        room.delivered = envelope.id
        self._hand(room, envelope.notice, envelope.id, envelope.exclude, envelope.close)  # type: ignore[arg-type]

    def _emit_stored(self, room: RoomOrder, notice: StoredNotice) -> None:
        if notice.id > room.delivered:
            room.delivered = notice.id
            self._hand(room, notice, notice.id, None, None)

    def _hand(
        self,
        room: RoomOrder,
        notice: StoredNotice,
        id_: int,
        exclude: Session | None,
        close: str | None,
    ) -> None:
        """A room message to the fan-out, in order: committed, so it depends on nothing
        here; a member that had it before it rejoined here (`floors`) is left out."""
        floors = room.floors
        if floors:
            for session, floor in list(floors.items()):
                if floor < id_:
                    del floors[session]
                elif exclude is None:
                    exclude = session  # (two such rejoiners at once: the second gets it)
        self._deliver(Envelope(room.audience, notice, 0, exclude, close))

    async def _fill(self, room: RoomOrder) -> None:
        """Read a room's missing messages from the store, deliver them, then what waited."""
        key = room.audience.key
        target = max(e.id for e in room.waiting)  # every message of the room below it
        try:
            while self.rooms.get(key) is room:
                try:
                    rows = await self.store.history(
                        key, after=room.delivered, before=target, limit=MAX_PAGE
                    )
                except StoreError as exc:
                    log.warning("Cannot read the messages missing in %s: %s", key, exc)
                    await asyncio.sleep(RETRY_READ)
                    continue
                for notice in rows:
                    self._emit_stored(room, notice)
                if len(rows) < MAX_PAGE:
                    # everything of the room below `target` is delivered now
                    room.delivered = max(room.delivered, target - 1)
                    break
        finally:
            room.fetching = False
            waiting, room.waiting = room.waiting, []
            for envelope in waiting:  # in the order they came
                if room.fetching:
                    room.waiting.append(envelope)
                elif envelope.id:
                    self._in_order(room, envelope)
                else:
                    self._deliver(envelope)

    # ------------------------------------------------------------------ catching up

    def catch_up_soon(self) -> None:
        """Read every room from the store now (the bus reconnected: frames were lost)."""
        self._polled = 0
        self._wake.set()

    async def _poll(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.poll_every):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            self._forget_empty_rooms()
            try:
                await self._catch_up()
            except StoreError as exc:
                log.warning("Cannot read the store to catch up: %s", exc)

    def _forget_empty_rooms(self) -> None:
        for key in [k for k, r in self.rooms.items() if not r.fetching and not r.waiting]:
            members = self._members(key)
            if not members:
                del self.rooms[key]
                continue
            floors = self.rooms[key].floors
            for session in [s for s in floors if s not in members]:
                del floors[session]

    async def _catch_up(self) -> None:
        """Deliver what the store has past each room's `delivered` (lost frames)."""
        top = await self.store.last_committed()
        if top <= self._polled or top <= min(
            (r.delivered for r in self.rooms.values()), default=top
        ):
            self._polled = max(self._polled, top)
            self.known = max(self.known, top)
            return
        keys = [k for k, r in self.rooms.items() if not r.fetching]
        since = min((self.rooms[k].delivered for k in keys), default=top)
        while since < top:
            rows = await self.store.missed(None, keys, since, top, MAX_PAGE)
            for notice in rows:
                room = self.rooms.get(notice.room.casefold())  # type: ignore[union-attr]
                if room is not None and not room.fetching:
                    self._emit_stored(room, notice)
            if len(rows) < MAX_PAGE:
                break
            since = rows[-1].id
        # Every message of these rooms up to `top` is delivered now (a room that started a
        # gap read meanwhile finishes it itself).
        for key in keys:
            room = self.rooms.get(key)
            if room is not None and not room.fetching and room.delivered < top:
                room.delivered = top
        self._polled = top
        if top > self.known:
            self.known = top
