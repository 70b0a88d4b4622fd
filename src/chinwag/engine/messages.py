"""Messages and the small commands: chat, private, user lists, ping, quit, bad input.

A mixin of `Engine`. `chat` is the hot path: one id from the store, one buffered write,
one envelope to the room (the server holds it until the write is durable).
"""

from __future__ import annotations

from dataclasses import replace

from chinwag.bus.base import Envelope, ToRooms, ToSession, ToUser
from chinwag.engine.base import INVITE_ONLY, OPERATOR_RANK, EngineBase
from chinwag.engine.limits import NOT_STORING, error_reply, reply
from chinwag.engine.names import NAME_MAX, normalize_name, room_key, user_key
from chinwag.engine.room import Room
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.text import inert

MAX_QUIT = 200  # characters of a parting message passed on
MAX_AWAY = 200  # characters of an away message
MAX_WHOWAS = 50  # sign-outs in one `whowas` answer


class MessageCommands(EngineBase):
    def _content_allowed(self, session: Session, text: str, now: float) -> list[Envelope] | None:
        if not text.strip():
            return error_reply(session, ErrorCode.EMPTY_MESSAGE, "Message is empty")
        if not self.storing:
            return error_reply(session, ErrorCode.STORE_UNAVAILABLE, NOT_STORING)
        if not self._take_message(session, now):
            return error_reply(
                session, ErrorCode.RATE_LIMITED, "You are sending too fast; message not sent"
            )
        return None

    def _chat(self, session: Session, command: ev.Chat, now: float) -> list[Envelope]:
        room = self._member_room(session, command.room)
        if not isinstance(room, Room):
            return room
        if room.modes or room.key in self.sanctions.muted_rooms:
            refused = self._speech_refused(session, room, now)
            if refused is not None:
                return refused
        refused = self._content_allowed(session, command.message, now)
        if refused is not None:
            return refused
        identity = session.identity
        assert identity is not None
        store = self.store
        notice = ev.ChatMessage(
            store.next_id(),
            room.name,
            identity.name,
            command.message,
            now,
            signed_in=identity.account is not None,
        )
        store.append(notice)
        room.recent.append(notice)
        if not room.used:
            room.used = True
        return [Envelope(room.audience, notice, notice.id)]

    def _private(self, session: Session, command: ev.Private, now: float) -> list[Envelope]:
        key = user_key(command.target)
        target = self.memberships.online.get(key)
        if target is not None and target.identity is not None:
            receiver = target.identity
        else:  # signed in on another node: its node hears ToUser(key)
            remote = self._elsewhere(key)
            if remote is None:
                return error_reply(
                    session, ErrorCode.UNKNOWN_USER, f"No user named {command.target} is online"
                )
            target, receiver = None, remote.identity()
        refused = self._content_allowed(session, command.message, now)
        if refused is not None:
            return refused
        sender = session.identity
        assert sender is not None
        store = self.store
        notice = ev.PrivateMessage(
            store.next_id(),
            sender.name,
            receiver.name,
            command.message,
            now,
            signed_in=sender.account is not None,
        )
        store.append(notice, parties=(sender.account, receiver.account))
        if target is session:
            return [Envelope(ToSession(session), notice, notice.id)]
        away = None if target is None else self.away.get(target)  # this node's only
        mine = notice if away is None else replace(notice, away=away)  # IRC's 301
        return [
            Envelope(ToUser(receiver.key), notice, notice.id),
            Envelope(ToSession(session), mine, notice.id),
        ]

    def _away(self, session: Session, command: ev.Away, now: float) -> list[Envelope]:
        """Away with a message, or back; those who share a room are told of a change."""
        identity = session.identity
        assert identity is not None
        message = inert(" ".join((command.message or "").split()))[:MAX_AWAY]
        before = self.away.get(session)
        if message:
            self.away[session] = message
            done = ev.Done("away", f"You are marked as away: {message}")
        else:
            self.away.pop(session, None)
            done = ev.Done("away", "You are no longer marked as away")
        out = [reply(session, done)]
        if before != (message or None):
            notice = ev.UserAway(identity.name, message, now)
            out.append(Envelope(ToRooms(session.rooms), notice, exclude=session))
        return out

    def _whowas(self, session: Session, command: ev.WhoWas, now: float) -> list[Envelope]:
        """The newest sign-outs under a name (compared as names are: look-alikes too)."""
        name = normalize_name(command.username)
        seen: list[ev.SignedOff] = []
        if len(name) <= NAME_MAX:
            key, most = user_key(name), max(1, min(command.limit, MAX_WHOWAS))
            for gone_key, gone in reversed(self.departed):
                if gone_key == key:
                    seen.append(gone)
                    if len(seen) >= most:
                        break
        return [reply(session, ev.WhoWasReply(name[:NAME_MAX], tuple(seen)))]

    def _absent(self, room: Room | None) -> tuple[ev.Absent, ...]:
        """The away entries of a user list (of the room's members, or of everyone)."""
        if not self.away:
            return ()
        found = [
            ev.Absent(s.identity.name, message)
            for s, message in self.away.items()
            if s.identity is not None and (room is None or s in room.members)
        ]
        return tuple(sorted(found, key=lambda a: a.username.casefold()))

    def _list_users(self, session: Session, command: ev.ListUsers, now: float) -> list[Envelope]:
        if command.room is None:
            online = self.memberships.online
            identities = [s.identity for s in online.values() if s.identity]
            if self.replica.users:  # and those signed in on other nodes, once each
                identities += [
                    user.identity() for key, user in self.replica.users.items() if key not in online
                ]
            names = tuple(sorted((i.name for i in identities), key=str.casefold))
            accounts = tuple(i.name for i in identities if i.account is not None)
            accounts = tuple(sorted(accounts, key=str.casefold))
            return [reply(session, ev.UserList(names, None, accounts, self._absent(None)))]
        room = self.memberships.find(command.room)
        if room is None:
            key = room_key(command.room.lstrip("#"))
            name = self.replica.room_name(key)
            if name is None:
                return error_reply(session, ErrorCode.UNKNOWN_ROOM, f"No room named {command.room}")
            remote = self._remote_members(key)  # a room only other nodes have members in
            names = tuple(sorted((user.name for user in remote), key=str.casefold))
            accounts = tuple(sorted((u.name for u in remote if u.account), key=str.casefold))
            return [reply(session, ev.UserList(names, name, accounts))]
        if INVITE_ONLY in room.modes and room.key not in session.rooms:
            identity = session.identity
            if identity is None or self._rank(identity, room) < OPERATOR_RANK:
                return error_reply(
                    session, ErrorCode.INVITE_ONLY, f"{room.name} is invite-only: members only"
                )
        names, accounts = self.present(room)
        names = tuple(sorted(names, key=str.casefold))
        accounts = tuple(sorted(accounts, key=str.casefold))
        return [reply(session, ev.UserList(names, room.name, accounts, self._absent(room)))]

    def _ping(self, session: Session, command: ev.Ping, now: float) -> list[Envelope]:
        return [reply(session, ev.PongReply(now, command.token))]

    def _pong(self, session: Session, command: ev.Pong, now: float) -> list[Envelope]:
        return []

    def _quit(self, session: Session, command: ev.Quit, now: float) -> list[Envelope]:
        """Leave; a parting message (`/quit bye all`, IRC's QUIT) is what the others are
        told as the reason, on one line, controls shown inert, at most MAX_QUIT long."""
        name = session.name or "there"
        said = inert(" ".join((command.message or "").split()))[:MAX_QUIT]
        reason = f"Quit: {said}" if said else "quit"
        return [Envelope(ToSession(session), ev.Goodbye(f"Goodbye, {name}!"), close=reason)]

    def _bad_input(self, session: Session, command: ev.BadInput, now: float) -> list[Envelope]:
        return error_reply(session, command.code, command.message)

    def forget(self, dropped: list[ev.StoredNotice]) -> list[Envelope]:
        """The store gave up on these messages (nobody was shown them): take them out of the
        rooms' recent history and tell each sender still here how many were not sent."""
        ids = {notice.id for notice in dropped}
        for room in self.memberships.rooms.values():
            if any(m.id in ids for m in room.recent):
                kept = [m for m in room.recent if m.id not in ids]
                room.recent.clear()
                room.recent.extend(kept)
        counts: dict[str, int] = {}
        for notice in dropped:
            key = user_key(notice.username)
            counts[key] = counts.get(key, 0) + 1
        out: list[Envelope] = []
        for key, count in counts.items():
            session = self.memberships.online.get(key)
            if session is not None:
                out += error_reply(
                    session,
                    ErrorCode.STORE_UNAVAILABLE,
                    f"The server could not store {count} of your messages; they were not"
                    " sent. Try again later.",
                )
        return out
