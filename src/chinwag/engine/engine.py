"""The chat engine: a command table and the handlers behind it.

Handlers run on the event loop's thread, one at a time; synchronous handlers never
yield, so they see and leave a consistent state. The few that read the store
(`is_async`) may see the world change across their one await; each says how it copes.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from chinwag.engine.delivery import Delivery
from chinwag.engine.limits import Limits, as_history, error_reply, wall_clock
from chinwag.engine.names import (
    NAME_RULE,
    room_key,
    user_key,
    valid_username,
)
from chinwag.engine.ratelimit import take_lazily
from chinwag.engine.room import Room
from chinwag.engine.rooms import RoomCommands
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.storage.base import RoomRecord, Store

log = logging.getLogger("chinwag.engine")


Handler = Callable[[Session, Any], list[Delivery]]


class Engine(RoomCommands):
    def __init__(
        self,
        store: Store,
        *,
        limits: Limits | None = None,
        clock: Callable[[], float] = wall_clock,
        name: str = "chinwag",
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.clock = clock
        self.name = name
        self.rooms: dict[str, Room] = {}
        self.users: dict[str, Session] = {}  # user key -> joined session
        # user key -> room keys, persistent. Tuples (shared, see _shared), not sets: most
        # users have a room or two, and an empty set alone is 216 bytes.
        self.memberships: dict[str, tuple[str, ...]] = {}
        self._shared_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.last_id = 0
        self.now = 0.0  # the clock when the command being handled arrived (see handle)
        self._guest_numbers = itertools.count(1)
        self._table: dict[type, tuple[Handler, bool]] = {
            # command type: (handler, needs a joined session)
            ev.Join: (self._join, False),
            ev.Chat: (self._chat, True),
            ev.Private: (self._private, True),
            ev.ListUsers: (self._list_users, False),
            ev.Ping: (self._ping, False),
            ev.Pong: (lambda s, c: [], False),
            ev.Quit: (self._quit, False),
            ev.Rename: (self._rename, True),
            ev.JoinRoom: (self._join_room, True),
            ev.LeaveRoom: (self._leave_room, True),
            ev.ListRooms: (self._list_rooms, False),
            ev.SetTopic: (self._set_topic, True),
            ev.BadInput: (self._bad_input, False),
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load rooms, memberships and the tail of each room's history from the store."""
        state = await self.store.open()
        self.last_id = state.last_id
        self.memberships = {
            user: self._shared(tuple(sorted(keys))) for user, keys in state.memberships.items()
        }
        for record in state.rooms:
            self.rooms[room_key(record.name)] = self._new_room(record.name, record.topic)
        if DEFAULT_ROOM not in self.rooms:
            self.rooms[DEFAULT_ROOM] = self._new_room(DEFAULT_ROOM)
            self.store.save_room(RoomRecord(DEFAULT_ROOM))
        if self.limits.history_on_join > 0:
            for room in self.rooms.values():
                room.recent.extend(await self.store.recent(room.key, self.limits.history_on_join))

    def open_session(self, *, peer: str, dialect: str, outlet: object = None) -> Session:
        return Session(peer=peer, dialect=dialect, outlet=outlet)

    def close_session(self, session: Session, reason: str = "") -> list[Delivery]:
        """The connection is gone: leave every room and tell the others."""
        if session.key is None or self.users.get(session.key) is not session:
            return []
        del self.users[session.key]
        out: list[Delivery] = []
        now = self.clock()
        assert session.username is not None
        for room in self._rooms_of(session):
            room.members.pop(session, None)
            out.append(
                Delivery(
                    ev.UserLeft(room.name, session.username, now, reason),
                    room.members,
                    room=room.key,
                )
            )
        session.rooms = ()
        log.info("%s left (%s)", session.username, reason or "disconnected")
        return out

    def online(self) -> int:
        return len(self.users)

    # ------------------------------------------------------------------ dispatch

    def is_async(self, command: ev.Command) -> bool:
        """True for commands that read the store and so must be awaited."""
        return isinstance(command, ev.History | ev.Search) or (
            isinstance(command, ev.Join) and command.since is not None
        )

    def _take_command(self, session: Session, now: float) -> bool:
        lim = self.limits
        granted, session.commands = take_lazily(
            session.commands, lim.command_rate, lim.command_burst, now
        )
        return granted

    def handle(self, session: Session, command: ev.Command) -> list[Delivery]:
        """Handle a synchronous command (see is_async) and say what to deliver."""
        # One reading of the clock per command: the rate limits and the message's timestamp
        # share it (time.time() and its rounding were 6 % of a busy server's CPU, taken 3 times).
        now = self.now = self.clock()
        if not self._take_command(session, now):
            return error_reply(session, ErrorCode.RATE_LIMITED, "Too many commands; slow down")
        entry = self._table.get(type(command))
        if entry is None:  # an async command sent the wrong way: a bug in the caller
            raise TypeError(f"{type(command).__name__} must go through handle_async")
        handler, needs_join = entry
        if needs_join and session.key is None:
            return error_reply(session, ErrorCode.NOT_JOINED, "Join first with a username")
        return handler(session, command)

    async def handle_async(self, session: Session, command: ev.Command) -> list[Delivery]:
        if not self._take_command(session, self.clock()):
            return error_reply(session, ErrorCode.RATE_LIMITED, "Too many commands; slow down")
        if isinstance(command, ev.Join):
            return await self._join_since(session, command)
        if session.key is None:
            return error_reply(session, ErrorCode.NOT_JOINED, "Join first with a username")
        if isinstance(command, ev.History):
            return await self._history(session, command)
        if isinstance(command, ev.Search):
            return await self._search(session, command)
        raise TypeError(f"{type(command).__name__} is not an async command")

    # ------------------------------------------------------------------ joining

    def _claim_name(self, session: Session, requested: str | None) -> list[Delivery] | None:
        """Give the session its name; an error delivery if it cannot have it."""
        if session.key is not None:
            return error_reply(
                session, ErrorCode.ALREADY_JOINED, f"Already joined as {session.username}"
            )
        if requested is None:
            while True:  # server-picked names have a space, so no user can claim one
                requested = f"Client {next(self._guest_numbers)}"
                if user_key(requested) not in self.users:
                    break
        elif not valid_username(requested):
            return error_reply(session, ErrorCode.INVALID_NAME, NAME_RULE)
        key = user_key(requested)
        if key == requested:
            key = requested  # one string, not two, when the name is already case-folded
        if key in self.users:
            return error_reply(session, ErrorCode.NAME_TAKEN, "Username already taken")
        session.username = requested
        session.key = key
        self.users[key] = session
        return None

    def _enter_rooms(self, session: Session, now: float) -> list[Delivery]:
        """Put a freshly named session into general and its saved rooms."""
        assert session.key is not None and session.username is not None
        saved = self.memberships.get(session.key, ())
        keys = [DEFAULT_ROOM, *sorted(k for k in saved if k != DEFAULT_ROOM)]
        rooms = [room for room in map(self.rooms.get, keys) if room is not None]
        session.rooms = self._shared(tuple(room.key for room in rooms))
        out: list[Delivery] = []
        for room in rooms:
            room.members[session] = None
            out.append(
                Delivery(
                    ev.UserJoined(room.name, session.username, now),
                    room.members,
                    session,
                    room=room.key,
                )
            )
        return out

    def _welcome(self, session: Session, now: float) -> ev.Welcome:
        assert session.username is not None
        general = self.rooms[DEFAULT_ROOM]
        return ev.Welcome(
            username=session.username,
            message=f"Welcome to {self.name}, {session.username}!",
            users=general.usernames(),
            rooms=tuple(r.name for r in self._rooms_of(session)),
            last_id=self.last_id,
            timestamp=now,
        )

    def _join(self, session: Session, command: ev.Join) -> list[Delivery]:
        refused = self._claim_name(session, command.username)
        if refused is not None:
            return refused
        now = self.clock()
        notices = self._enter_rooms(session, now)
        out = [Delivery(self._welcome(session, now), (session,))]
        for room in self._rooms_of(session):
            if room.key != DEFAULT_ROOM:
                out.append(
                    Delivery(ev.RoomJoined(room.name, room.topic, room.usernames()), (session,))
                )
            out.extend(self._replay_recent(session, room))
        log.info("%s joined from %s (%s)", session.username, session.peer, session.dialect)
        return out + notices

    async def _join_since(self, session: Session, command: ev.Join) -> list[Delivery]:
        """Rejoin after a disconnect: exactly the messages missed, once, in order.

        The session becomes a member *before* the await, with `upto` = the last id at that
        moment: live messages after it reach the session as usual (the server holds them
        until this reply is out), and the store supplies (since, upto].
        """
        refused = self._claim_name(session, command.username)
        if refused is not None:
            return refused
        now = self.clock()
        notices = self._enter_rooms(session, now)
        upto = self.last_id
        since = command.since or 0
        assert session.key is not None
        if self.store.committed_id < upto:  # reads see committed data only: no gap
            await self.store.commit()
        missed = await self.store.missed(
            session.key, list(session.rooms), since, upto, self.limits.replay_limit
        )
        out = [Delivery(self._welcome(session, now), (session,))]
        for room in self._rooms_of(session):
            if room.key != DEFAULT_ROOM:
                out.append(
                    Delivery(ev.RoomJoined(room.name, room.topic, room.usernames()), (session,))
                )
        out.extend(Delivery(as_history(m), (session,)) for m in missed)
        log.info(
            "%s rejoined from %s since %d (%d missed)",
            session.username,
            session.peer,
            since,
            len(missed),
        )
        return out + notices

    # ------------------------------------------------------------------ messages

    def _next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def _content_allowed(self, session: Session, text: str) -> list[Delivery] | None:
        if not text.strip():
            return error_reply(session, ErrorCode.EMPTY_MESSAGE, "Message is empty")
        if not self._take_message(session, self.now):
            return error_reply(
                session, ErrorCode.RATE_LIMITED, "You are sending too fast; message not sent"
            )
        return None

    def _chat(self, session: Session, command: ev.Chat) -> list[Delivery]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        refused = self._content_allowed(session, command.message)
        if refused is not None:
            return refused
        assert session.username is not None
        notice = ev.ChatMessage(
            self._next_id(), room.name, session.username, command.message, self.now
        )
        self.store.append(notice)
        room.recent.append(notice)
        return [Delivery(notice, room.members, durable_id=notice.id, room=room.key)]

    def _private(self, session: Session, command: ev.Private) -> list[Delivery]:
        target = self.users.get(user_key(command.target))
        if target is None:
            return error_reply(
                session, ErrorCode.UNKNOWN_USER, f"No user named {command.target} is online"
            )
        refused = self._content_allowed(session, command.message)
        if refused is not None:
            return refused
        assert session.username is not None and target.username is not None
        notice = ev.PrivateMessage(
            self._next_id(), session.username, target.username, command.message, self.now
        )
        self.store.append(notice)
        to = (session,) if target is session else (target, session)
        return [Delivery(notice, to, durable_id=notice.id)]

    def _list_users(self, session: Session, command: ev.ListUsers) -> list[Delivery]:
        if command.room is None:
            names = tuple(
                sorted((s.username for s in self.users.values() if s.username), key=str.casefold)
            )
            return [Delivery(ev.UserList(names), (session,))]
        room = self.rooms.get(room_key(command.room.lstrip("#")))
        if room is None:
            return error_reply(session, ErrorCode.UNKNOWN_ROOM, f"No room named {command.room}")
        return [
            Delivery(
                ev.UserList(tuple(sorted(room.usernames(), key=str.casefold)), room.name),
                (session,),
            )
        ]

    def _ping(self, session: Session, command: ev.Ping) -> list[Delivery]:
        return [Delivery(ev.PongReply(self.clock(), command.token), (session,))]

    def _quit(self, session: Session, command: ev.Quit) -> list[Delivery]:
        name = session.username or "there"
        return [Delivery(ev.Goodbye(f"Goodbye, {name}!"), (session,), close="quit")]

    def _bad_input(self, session: Session, command: ev.BadInput) -> list[Delivery]:
        return error_reply(session, command.code, command.message)

    def _rename(self, session: Session, command: ev.Rename) -> list[Delivery]:
        if not valid_username(command.username):
            return error_reply(session, ErrorCode.INVALID_NAME, NAME_RULE)
        new_key = user_key(command.username)
        holder = self.users.get(new_key)
        if holder is not None and holder is not session:
            return error_reply(session, ErrorCode.NAME_TAKEN, "Username already taken")
        assert session.key is not None and session.username is not None
        old = session.username
        del self.users[session.key]
        session.username, session.key = command.username, new_key
        self.users[new_key] = session
        # The new name keeps the rooms the session is in now.
        saved = self.memberships.get(new_key, ())
        added = tuple(key for key in session.rooms if key not in saved)
        for key in added:
            self.store.save_membership(new_key, key, True)
        self.memberships[new_key] = self._shared(saved + added)
        audience: dict[Session, None] = {session: None}
        for room in self._rooms_of(session):
            audience.update(room.members)
        log.info("%s is now known as %s", old, command.username)
        return [Delivery(ev.UserRenamed(old, command.username, self.clock()), audience)]
