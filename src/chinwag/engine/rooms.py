"""Room commands (join, leave, list, topic) and the store reads (history, search).

A mixin of `Engine`; membership changes go through `Memberships`, which keeps the fan-out's
batches right (engine/facts.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chinwag.bus.base import Envelope
from chinwag.engine.base import OPERATOR_RANK, TOPIC_LOCKED, EngineBase
from chinwag.engine.limits import (
    NOT_STORING,
    TOO_MANY_ROOMS,
    as_history,
    error_reply,
    reply,
    within,
)
from chinwag.engine.names import ROOM_RULE, normalize_name, normalize_room, room_key, user_key
from chinwag.engine.room import Room
from chinwag.engine.session import Session
from chinwag.errors import QueryTooExpensive
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.storage.base import MAX_PAGE, RoomRecord

log = logging.getLogger("chinwag.engine")

MAX_ROOM_PAGE = 500  # rooms in one `rooms` answer


class RoomCommands(EngineBase):
    def _join_room(self, session: Session, command: ev.JoinRoom, now: float) -> list[Envelope]:
        name = normalize_room(command.room)
        if name is None:
            return error_reply(session, ErrorCode.INVALID_ROOM, ROOM_RULE)
        identity = session.identity
        assert identity is not None
        memberships = self.memberships
        room = memberships.rooms.get(room_key(name))
        already = room is not None and room.key in session.rooms
        if not already and len(session.rooms) >= self.limits.max_rooms_per_user:
            return error_reply(session, ErrorCode.INVALID_ROOM, TOO_MANY_ROOMS)
        if room is None:
            refused = self._may_create(session, now)
            if refused is not None:
                return refused
            room = memberships.create(name, owner=identity.account)
            log.info("%s created room %s", identity.name, name)
        if already:
            return [reply(session, self.room_joined(room))]
        refused = self._entry_refused(session, identity, room, now)
        if refused is not None:
            return refused
        memberships.enter(session, room)
        out = [
            reply(session, self.room_joined(room)),
            *self._replay_recent(session, [room]),
            Envelope(
                room.audience,
                ev.UserJoined(room.name, identity.name, now, identity.account is not None),
                exclude=session,
            ),
        ]
        away = self.away.get(session)
        if away is not None:  # the room's members learn it as they learn of the others
            out.append(
                Envelope(room.audience, ev.UserAway(identity.name, away, now), exclude=session)
            )
        return out

    def _leave_room(self, session: Session, command: ev.LeaveRoom, now: float) -> list[Envelope]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        if room.key == DEFAULT_ROOM:
            return error_reply(session, ErrorCode.INVALID_ROOM, f"Everyone stays in {DEFAULT_ROOM}")
        assert session.identity is not None
        self.memberships.leave(session, room)
        return [
            reply(session, ev.RoomLeft(room.name)),
            Envelope(
                room.audience,
                ev.UserLeft(room.name, session.identity.name, now, "left the room"),
            ),
        ]

    def _list_rooms(self, session: Session, command: ev.ListRooms, now: float) -> list[Envelope]:
        """A page of rooms in name order: a flood of rooms cannot make one answer huge."""
        limit = max(1, min(command.limit, MAX_ROOM_PAGE))
        after = room_key(command.after.lstrip("#")) if command.after else ""
        rooms = self.memberships.rooms
        if self.replica.rooms:  # with members on other nodes (and rooms only they have)
            return self._list_shared_rooms(session, limit, after)
        keys = sorted(key for key in rooms if key > after)
        page = [rooms[key] for key in keys[:limit]]
        infos = tuple(
            ev.RoomInfo(r.name, len(r.members), r.topic, r.topic_by, r.topic_at) for r in page
        )
        more = page[-1].name if len(keys) > limit else None
        return [reply(session, ev.RoomList(infos, more))]

    def _list_shared_rooms(self, session: Session, limit: int, after: str) -> list[Envelope]:
        rooms = self.memberships.rooms
        keys = sorted(key for key in rooms.keys() | self.replica.rooms.keys() if key > after)
        infos = []
        for key in keys[:limit]:
            remote = len(self._remote_members(key))
            room = rooms.get(key)
            if room is not None:
                infos.append(
                    ev.RoomInfo(
                        room.name,
                        len(room.members) + remote,
                        room.topic,
                        room.topic_by,
                        room.topic_at,
                    )
                )
            else:  # its topic is that node's to know
                infos.append(ev.RoomInfo(self.replica.room_name(key) or key, remote, ""))
        more = infos[-1].room if len(keys) > limit else None
        return [reply(session, ev.RoomList(tuple(infos), more))]

    def _set_topic(self, session: Session, command: ev.SetTopic, now: float) -> list[Envelope]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        assert session.identity is not None
        refused = self._speech_refused(session, room, now)
        if refused is not None:
            return refused
        if TOPIC_LOCKED in room.modes and self._rank(session.identity, room) < OPERATOR_RANK:
            return error_reply(
                session, ErrorCode.FORBIDDEN, f"Only operators set the topic of {room.name}"
            )
        topic = command.topic.strip()
        if len(topic) > self.limits.max_topic:
            return error_reply(
                session,
                ErrorCode.INVALID_FIELD,
                f"Topics are at most {self.limits.max_topic} characters",
            )
        if not self.storing:
            return error_reply(session, ErrorCode.STORE_UNAVAILABLE, NOT_STORING)
        if not self._take_message(session, now):
            return error_reply(
                session, ErrorCode.RATE_LIMITED, "You are sending too fast; topic not set"
            )
        identity = session.identity
        assert identity is not None
        store = self.store
        notice = ev.TopicChanged(
            store.next_id(), room.name, identity.name, topic, now,
            signed_in=identity.account is not None,
        )  # fmt: skip
        room.topic, room.topic_by, room.topic_at = topic, notice.username, now
        room.used = True
        store.append(notice)
        store.save_room(RoomRecord(room.name, topic, topic_by=notice.username, topic_at=now))
        room.recent.append(notice)
        return [Envelope(room.audience, notice, notice.id)]

    # ------------------------------------------------------------------ store reads

    async def _by_time(self, command: ev.History) -> ev.History:
        """The command with its times made ids: a time is the newest message said before
        it (ids follow time), one store read each. An id given wins over a time."""
        before, after = command.before, command.after
        if before is None and command.before_time is not None:
            before = await self.store.id_at(command.before_time) + 1
        if after is None and command.after_time is not None:
            after = await self.store.id_at(command.after_time)
        return replace(command, before=before, after=after, before_time=None, after_time=None)

    async def _history(self, session: Session, command: ev.History, now: float) -> list[Envelope]:
        room: Room | list[Envelope] | None = None
        if command.with_ is None:
            room = self._member_room(session, command.room)  # before any read
            if not isinstance(room, Room):
                return room
        try:
            command = await self._by_time(command)
        except QueryTooExpensive:
            return error_reply(session, ErrorCode.TOO_EXPENSIVE, "History took too long; ask again")
        if command.with_ is not None:
            return await self._conversation(session, command, command.with_)
        room = self._member_room(session, command.room)  # again: it may have left meanwhile
        if not isinstance(room, Room):
            return room
        limit = max(1, min(command.limit, MAX_PAGE))
        try:
            rows = await self.store.history(
                room.key, before=command.before, after=command.after, limit=limit
            )
        except QueryTooExpensive:
            return error_reply(session, ErrorCode.TOO_EXPENSIVE, "History took too long; ask again")
        rows = within(rows, self.limits.max_page_bytes, newest=command.after is None)
        page = tuple(as_history(m) for m in rows)
        return [reply(session, ev.HistoryPage(room.name, page))]

    async def _conversation(
        self, session: Session, command: ev.History, other: str
    ) -> list[Envelope]:
        """A page of one's private messages with another account. Kept per account: a
        guest has none, and a guest who takes a free name later sees nothing of it."""
        identity = session.identity
        assert identity is not None
        if identity.account is None:
            return error_reply(
                session,
                ErrorCode.FORBIDDEN,
                "Only accounts keep private history: register or log in",
            )
        name = normalize_name(other)
        limit = max(1, min(command.limit, MAX_PAGE))
        try:
            rows = await self.store.private_history(
                identity.account,
                user_key(name),
                before=command.before,
                after=command.after,
                limit=limit,
            )
        except QueryTooExpensive:
            return error_reply(session, ErrorCode.TOO_EXPENSIVE, "History took too long; ask again")
        rows = within(rows, self.limits.max_page_bytes, newest=command.after is None)
        page = tuple(as_history(m) for m in rows)
        return [reply(session, ev.HistoryPage("", page, with_=name))]

    def _search_refused(self, session: Session, query: str) -> list[Envelope] | None:
        lim = self.limits
        words = query.split()
        if not words:
            return error_reply(session, ErrorCode.INVALID_FIELD, "Search for at least one word")
        if len(words) > lim.max_search_words or len(query.encode()) > lim.max_search_bytes:
            return error_reply(
                session,
                ErrorCode.INVALID_FIELD,
                f"Search for at most {lim.max_search_words} words ({lim.max_search_bytes} bytes)",
            )
        return None

    async def _search(self, session: Session, command: ev.Search, now: float) -> list[Envelope]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        refused = self._search_refused(session, command.query)
        if refused is not None:
            return refused
        limit = max(1, min(command.limit, MAX_PAGE))
        try:
            rows = await self.store.search(room.key, command.query, limit)
        except QueryTooExpensive:
            return error_reply(
                session, ErrorCode.TOO_EXPENSIVE, "That search took too long; try other words"
            )
        rows = within(rows, self.limits.max_page_bytes, newest=True)
        found = tuple(as_history(m) for m in rows)
        return [reply(session, ev.SearchResults(room.name, command.query, found))]
