"""The chat engine: a command table and the handlers behind it.

A command is one row of the table: its schema is its event class (protocol/events.py, wire
form in protocol/schema.py), then who may run it, then the handler. Every check of the row
(rate limit, permission) happens here, once, for every front end.

Handlers run on the event loop's thread, one at a time; synchronous handlers never yield, so
they see and leave a consistent state. The few that read the store (`reads_store`) may see
the world change across their one await; each says how it copes. Handlers never touch a
connection: they return envelopes (a notice for an audience), which the server publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chinwag.bus.base import Envelope
from chinwag.engine.facts import FactListener
from chinwag.engine.files import FileCommands
from chinwag.engine.identity import Identity
from chinwag.engine.limits import Limits, error_reply, wall_clock
from chinwag.engine.messages import MessageCommands
from chinwag.engine.moderation import ModerationCommands
from chinwag.engine.names import prepare as prepare_names
from chinwag.engine.permissions import Permission, refusal
from chinwag.engine.ratelimit import take_lazily
from chinwag.engine.rooms import RoomCommands
from chinwag.engine.session import Outlet, Session
from chinwag.passwords import Passwords
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.storage.base import Store

log = logging.getLogger("chinwag.engine")

Handler = Callable[[Session, Any, float], list[Envelope]]
AsyncHandler = Callable[[Session, Any, float], Awaitable[list[Envelope]]]


@dataclass(frozen=True, slots=True)
class Row:
    """One command: who may run it, and its handler: sync, or async (`reader`) when it
    awaits the store or the password hasher. A row with both runs the reader for the
    commands `reads` picks (a join with a password), the handler for the others."""

    permission: Permission | Callable[[Any], Permission]  # fixed, or picked by the command
    handler: Handler | None = None
    reader: AsyncHandler | None = None
    reads: Callable[[Any], bool] | None = None


def by_room(in_room: Permission, server: Permission) -> Callable[[Any], Permission]:
    """The permission of a command that acts in its `room`, or server-wide without one."""

    def pick(command: Any) -> Permission:
        return server if command.room is None else in_room

    return pick


class Engine(ModerationCommands, MessageCommands, RoomCommands, FileCommands):
    def __init__(
        self,
        store: Store,
        *,
        limits: Limits | None = None,
        name: str = "chinwag",
        passwords: Passwords | None = None,
    ) -> None:
        super().__init__(store, limits or Limits(), name, passwords)
        anyone, guest, member = Permission.ANYONE, Permission.GUEST, Permission.MEMBER
        operator, admin = Permission.ROOM_OPERATOR, Permission.ADMIN
        # A room's operators act in their room; without a room, the server's staff act.
        in_room_or_admin = by_room(operator, admin)
        in_room_or_moderator = by_room(operator, Permission.MODERATOR)
        self.table: dict[type, Row] = {
            ev.Join: Row(anyone, self._join, self._login, self.logs_in),
            ev.Register: Row(anyone, reader=self._register),
            ev.Logout: Row(guest, reader=self._logout),
            ev.ChangePassword: Row(member, reader=self._change_password),
            ev.Chat: Row(guest, self._chat),
            ev.Private: Row(guest, self._private),
            ev.ListUsers: Row(anyone, self._list_users),
            ev.Away: Row(guest, self._away),
            ev.WhoWas: Row(guest, self._whowas),
            ev.Ping: Row(anyone, self._ping),
            ev.Pong: Row(anyone, self._pong),
            ev.Quit: Row(anyone, self._quit),
            ev.Rename: Row(guest, self._rename),
            ev.JoinRoom: Row(guest, self._join_room),
            ev.LeaveRoom: Row(guest, self._leave_room),
            ev.ListRooms: Row(anyone, self._list_rooms),
            ev.SetTopic: Row(guest, self._set_topic),
            ev.History: Row(guest, reader=self._history),
            ev.Search: Row(guest, reader=self._search),
            ev.SetRole: Row(in_room_or_admin, reader=self._set_role),
            ev.Kick: Row(operator, reader=self._kick),
            ev.Ban: Row(in_room_or_moderator, reader=self._ban),
            ev.Unban: Row(in_room_or_moderator, reader=self._unban),
            ev.Mute: Row(operator, reader=self._mute),
            ev.Unmute: Row(operator, reader=self._unmute),
            ev.RoomMode: Row(operator, reader=self._room_mode),
            ev.Invite: Row(operator, reader=self._invite),
            ev.DeleteMessage: Row(member, reader=self._delete_message),  # its sender, or operators
            ev.Announce: Row(admin, reader=self._announce),
            ev.Audit: Row(in_room_or_moderator, reader=self._audit),
            ev.BadInput: Row(anyone, self._bad_input),
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load rooms, saved rooms and the tail of each room's history from the store."""
        prepare_names()
        memberships = self.memberships
        state = await self.store.open()
        for expired in self.sanctions.load(state.sanctions, wall_clock()):
            self.store.lift_sanction(expired.kind, expired.room_key, expired.subject)
        memberships.forgotten = self.sanctions.forget_room  # before load: it removes rooms
        memberships.held_elsewhere = lambda key: bool(self.replica.rooms.get(key))
        memberships.load(state)
        self.registered = set(state.accounts)
        if self.limits.history_on_join > 0:
            for room in memberships.rooms.values():
                room.recent.extend(await self.store.recent(room.key, self.limits.history_on_join))

    def listen(self, listener: FactListener) -> None:
        """Who hears of membership changes before they happen (the server's fan-out)."""
        self.memberships.listener = listener

    def open_session(self, *, peer: str, dialect: str, outlet: Outlet | None = None) -> Session:
        return Session(peer=peer, dialect=dialect, outlet=outlet)

    def close_session(self, session: Session, reason: str, now: float) -> list[Envelope]:
        """The connection is gone: leave every room and tell the others."""
        session.closed = True
        self.tokens.pop(session, None)
        self.away.pop(session, None)
        self.forget_guest(session)
        identity = session.identity
        rooms = self.memberships.sign_out(session)
        if identity is None or not rooms:
            return []
        gone = ev.SignedOff(identity.name, now, identity.account is not None)
        self.departed.append((identity.key, gone))
        log.info("%s left (%s)", identity.name, reason or "disconnected")
        return [
            Envelope(room.audience, ev.UserLeft(room.name, identity.name, now, reason))
            for room in rooms
        ]

    def online(self) -> int:
        return len(self.memberships.online)

    # ------------------------------------------------------------------ dispatch

    def is_async(self, command: ev.Command) -> bool:
        """True for commands that read the store and so must go through handle_async."""
        row = self.table.get(type(command))
        if row is None:
            return False
        if row.handler is None:
            return True
        return row.reads is not None and row.reads(command)

    def take_command(self, session: Session, now: float) -> float:
        """Take a command token: 0.0 if the session may run a command now, else the seconds
        until it may. The server then reads no more from that client until then (commands
        are delayed, not refused: only messages are refused by their own rate limit)."""
        lim = self.limits
        granted, session.commands = take_lazily(
            session.commands, lim.command_rate, lim.command_burst, now
        )
        if granted:
            return 0.0
        assert session.commands is not None
        return session.commands.wait(now)

    def _checked(self, session: Session, command: ev.Command, now: float) -> Row | list[Envelope]:
        row = self.table.get(type(command))
        if row is None:  # a command type without a row: a bug in the codec or the table
            raise TypeError(f"no command table row for {type(command).__name__}")
        permission = row.permission
        if permission is Permission.GUEST and session.identity is not None:
            return row  # the common case, decided without a call
        if not isinstance(permission, Permission):
            permission = permission(command)
        refused = refusal(permission, session, command, self.memberships)
        if refused is not None:
            return error_reply(session, *refused)
        return row

    def handle(self, session: Session, command: ev.Command, now: float) -> list[Envelope]:
        """Handle a synchronous command (see is_async) and say what to deliver to whom.

        The caller admitted it first (`admit`). `now` is the one reading of the clock for
        this command: rate limits and timestamps share it."""
        row = self._checked(session, command, now)
        if not isinstance(row, Row):
            return row
        if row.handler is None or (row.reads is not None and row.reads(command)):
            raise TypeError(f"{type(command).__name__} must go through handle_async")
        identity = session.identity
        try:
            return row.handler(session, command, now)
        except Exception:
            return self._failed(session, command, identity)

    async def handle_async(
        self, session: Session, command: ev.Command, now: float
    ) -> list[Envelope]:
        row = self._checked(session, command, now)
        if not isinstance(row, Row):
            return row
        if row.reader is None:
            raise TypeError(f"{type(command).__name__} is not an async command")
        identity = session.identity
        try:
            return await row.reader(session, command, now)
        except Exception:
            return self._failed(session, command, identity)

    def _failed(
        self, session: Session, command: ev.Command, identity: Identity | None
    ) -> list[Envelope]:
        """A handler raised: a bug, or a store that failed a read. The client is told, the
        log keeps the traceback, and a join that was half made is undone, so that nobody
        holds a name or sits in a room without the others having been told."""
        log.exception("%s: %s failed", session.peer, type(command).__name__)
        if identity is None and session.identity is not None:
            self.memberships.sign_out(session)
            session.identity = None
        return error_reply(
            session, ErrorCode.INTERNAL_ERROR, "The server failed to do that; it was logged"
        )
