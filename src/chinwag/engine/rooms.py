"""Room commands (join, leave, list, topic) and the store reads (history, search).

A mixin of `Engine`: it shares the engine's state, declared below, and its rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chinwag.engine.delivery import Delivery
from chinwag.engine.limits import Limits, as_history, error_reply
from chinwag.engine.names import ROOM_RULE, normalize_room, room_key
from chinwag.engine.ratelimit import take_lazily
from chinwag.engine.room import Room
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.storage.base import MAX_PAGE, RoomRecord, Store

log = logging.getLogger("chinwag.engine")

# Distinct tuples of room keys kept for sharing before the table starts afresh (see _shared).
MAX_SHARED_KEYS = 10_000


class RoomCommands:
    store: Store
    limits: Limits
    clock: Callable[[], float]
    rooms: dict[str, Room]
    memberships: dict[str, tuple[str, ...]]
    _shared_keys: dict[tuple[str, ...], tuple[str, ...]]

    def _next_id(self) -> int:
        raise NotImplementedError

    def _new_room(self, name: str, topic: str = "") -> Room:
        return Room(name, topic, recent_size=max(1, self.limits.history_on_join))

    def _take_message(self, session: Session, now: float) -> bool:
        """A token for content (chat, private, topic): one bucket for all three."""
        lim = self.limits
        granted, session.messages = take_lazily(
            session.messages, lim.message_rate, lim.message_burst, now
        )
        return granted

    def _shared(self, keys: tuple[str, ...]) -> tuple[str, ...]:
        """An equal tuple of room keys if one is in use already, else `keys`.

        Thousands of users sit in the same few rooms: they then hold one tuple between them
        (a tuple of two keys is 56 bytes). Emptying the table when it is full only stops new
        tuples from being shared, so it stays bounded whatever rooms users make.
        """
        table = self._shared_keys
        if len(table) >= MAX_SHARED_KEYS:
            table.clear()
        return table.setdefault(keys, keys)

    def _rooms_of(self, session: Session) -> list[Room]:
        """The rooms a session is in, general first."""
        return [self.rooms[key] for key in session.rooms]

    def _member_room(self, session: Session, name: str) -> Room | list[Delivery]:
        key = room_key(name.lstrip("#"))
        if key not in session.rooms:
            if key in self.rooms:
                return error_reply(session, ErrorCode.NOT_IN_ROOM, f"You are not in room {name}")
            return error_reply(session, ErrorCode.UNKNOWN_ROOM, f"No room named {name}")
        return self.rooms[key]

    def _replay_recent(self, session: Session, room: Room) -> list[Delivery]:
        # The ring may hold messages not yet committed: they leave once durable.
        return [Delivery(as_history(m), (session,), durable_id=m.id) for m in room.recent]

    # ------------------------------------------------------------------ rooms

    def _join_room(self, session: Session, command: ev.JoinRoom) -> list[Delivery]:
        name = normalize_room(command.room)
        if name is None:
            return error_reply(session, ErrorCode.INVALID_ROOM, ROOM_RULE)
        key = room_key(name)
        assert session.key is not None and session.username is not None
        room = self.rooms.get(key)
        if room is None:
            room = self.rooms[key] = self._new_room(name)
            self.store.save_room(RoomRecord(name))
            log.info("%s created room %s", session.username, name)
        key = room.key  # the room's own string: sessions and memberships share it
        already = key in session.rooms
        if not already and len(session.rooms) >= self.limits.max_rooms_per_user:
            return error_reply(session, ErrorCode.INVALID_ROOM, "You are in too many rooms already")
        out = [
            Delivery(
                ev.RoomJoined(
                    room.name,
                    room.topic,
                    room.usernames() + (() if already else (session.username,)),
                ),
                (session,),
            )
        ]
        if already:
            return out
        room.members[session] = None
        session.rooms = self._shared((*session.rooms, key))
        saved = self.memberships.get(session.key, ())
        if key not in saved:
            self.memberships[session.key] = self._shared((*saved, key))
            self.store.save_membership(session.key, key, True)
        out.extend(self._replay_recent(session, room))
        out.append(
            Delivery(
                ev.UserJoined(room.name, session.username, self.clock()),
                room.members,
                session,
                room=room.key,
            )
        )
        return out

    def _leave_room(self, session: Session, command: ev.LeaveRoom) -> list[Delivery]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        if room.key == DEFAULT_ROOM:
            return error_reply(session, ErrorCode.INVALID_ROOM, f"Everyone stays in {DEFAULT_ROOM}")
        assert session.key is not None and session.username is not None
        session.rooms = self._shared(tuple(k for k in session.rooms if k != room.key))
        room.members.pop(session, None)
        saved = self.memberships.get(session.key, ())
        if room.key in saved:
            self.memberships[session.key] = self._shared(tuple(k for k in saved if k != room.key))
        self.store.save_membership(session.key, room.key, False)
        return [
            Delivery(ev.RoomLeft(room.name), (session,)),
            Delivery(
                ev.UserLeft(room.name, session.username, self.clock(), "left the room"),
                room.members,
                room=room.key,
            ),
        ]

    def _list_rooms(self, session: Session, command: ev.ListRooms) -> list[Delivery]:
        infos = tuple(
            ev.RoomInfo(r.name, len(r.members), r.topic)
            for r in sorted(self.rooms.values(), key=lambda r: r.key)
        )
        return [Delivery(ev.RoomList(infos), (session,))]

    def _set_topic(self, session: Session, command: ev.SetTopic) -> list[Delivery]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        topic = command.topic.strip()
        if len(topic) > self.limits.max_topic:
            return error_reply(
                session,
                ErrorCode.INVALID_FIELD,
                f"Topics are at most {self.limits.max_topic} characters",
            )
        if not self._take_message(session, self.clock()):
            return error_reply(
                session, ErrorCode.RATE_LIMITED, "You are sending too fast; topic not set"
            )
        assert session.username is not None
        notice = ev.TopicChanged(self._next_id(), room.name, session.username, topic, self.clock())
        room.topic = topic
        self.store.append(notice)
        self.store.save_room(RoomRecord(room.name, topic))
        room.recent.append(notice)
        return [Delivery(notice, room.members, durable_id=notice.id, room=room.key)]

    # ------------------------------------------------------------------ store reads

    async def _history(self, session: Session, command: ev.History) -> list[Delivery]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        limit = max(1, min(command.limit, MAX_PAGE))
        rows = await self.store.history(
            room.key, before=command.before, after=command.after, limit=limit
        )
        page = tuple(as_history(m) for m in rows)
        return [Delivery(ev.HistoryPage(room.name, page), (session,))]

    async def _search(self, session: Session, command: ev.Search) -> list[Delivery]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        if not command.query.strip():
            return error_reply(session, ErrorCode.INVALID_FIELD, "Search for at least one word")
        limit = max(1, min(command.limit, MAX_PAGE))
        rows = await self.store.search(room.key, command.query, limit)
        found = tuple(as_history(m) for m in rows)
        return [Delivery(ev.SearchResults(room.name, command.query, found), (session,))]
