"""Moderation: roles, kick, ban, mute, room modes, invites, deleting messages, announcements
and the audit log.

A mixin of `Engine`, on top of the accounts one (a server ban signs its target out). Who
may run each command is the permission column of the command table (engine.py); what is
checked here is whom it may be done to: an actor acts only on someone it outranks in that
room (`_rank`: guest, member, voice, operator, owner, then the server's moderators and
admins above every room role), never on itself.

Each handler changes the engine's state at once (a ban is in force before the handler
awaits anything), buffers the store writes and the audit entry, then awaits the commit, so
that nobody is told of an action the store could still lose. The rules these actions set
are enforced where the other commands run (engine/base.py: `_entry_refused`,
`_speech_refused`, `_server_ban`).
"""

from __future__ import annotations

import logging

from chinwag.bus.base import Envelope, ToSession, ToUser
from chinwag.engine.accounts import AccountCommands, role_of
from chinwag.engine.base import MODES, OPERATOR_RANK
from chinwag.engine.identity import Identity, Role, guest
from chinwag.engine.limits import error_reply, reply
from chinwag.engine.memberships import ROOM_RANK, RoomRole
from chinwag.engine.names import normalize_name, user_key
from chinwag.engine.replica import Directive, RemoteUser
from chinwag.engine.room import Room
from chinwag.engine.sanctions import BAN, MUTE, SERVER, address_of, subject_of
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.storage.base import AuditRecord, Sanction

log = logging.getLogger("chinwag.engine")

MAX_REASON = 300  # characters of a reason kept and shown
ROOM_ROLES = ("operator", "voice", "member")
SERVER_ROLES = ("admin", "moderator", "member")


class Target:
    """Whom an action names: its identity, and its session if it is online here, or where
    it is signed in if that is another node (`remote`)."""

    __slots__ = ("identity", "remote", "session")

    def __init__(
        self, identity: Identity, session: Session | None, remote: RemoteUser | None = None
    ) -> None:
        self.identity = identity
        self.session = session
        self.remote = remote


class ModerationCommands(AccountCommands):
    # ------------------------------------------------------------------ helpers

    async def _target(self, username: str) -> Target:
        """The user a command names: online, or an account, or else a guest's name (bans
        and mutes take one; the other commands refuse a guest who is not online)."""
        key = user_key(normalize_name(username))
        online = self.memberships.online.get(key)
        if online is not None and online.identity is not None:
            return Target(online.identity, online)
        remote = self._elsewhere(key)
        if remote is not None:
            return Target(remote.identity(), None, remote)
        if key in self.registered:
            record = await self.store.account(key)
            if record is not None:
                return Target(Identity(record.name, key, key, role_of(record)), None)
        return Target(guest(normalize_name(username), key), None)

    def _outranks(
        self, session: Session, target: Identity, room: Room | None
    ) -> list[Envelope] | None:
        actor = session.identity
        assert actor is not None
        if actor.key == target.key:
            return error_reply(session, ErrorCode.FORBIDDEN, "Not on yourself")
        if self._rank(actor, room) <= self._rank(target, room):
            return error_reply(
                session, ErrorCode.FORBIDDEN, f"{target.name} has as much say here as you"
            )
        return None

    def _room(self, session: Session, name: str) -> Room | list[Envelope]:
        room = self.memberships.find(name)
        if room is None:
            return error_reply(session, ErrorCode.UNKNOWN_ROOM, f"No room named {name}")
        return room

    def _until(
        self, session: Session, duration: int | None, now: float
    ) -> float | list[Envelope] | None:
        if duration is None:
            return None
        if duration <= 0:
            return error_reply(session, ErrorCode.INVALID_FIELD, "A duration is seconds above 0")
        return round(now + duration, 3)

    def _record(
        self,
        session: Session,
        action: str,
        now: float,
        *,
        target: str = "",
        room: str = "",
        reason: str = "",
        until: float | None = None,
    ) -> int:
        actor = session.identity
        assert actor is not None
        log.info("%s: %s %s %s %s", actor.name, action, target, room, reason)
        return self.store.record(
            AuditRecord(0, now, actor.name, action, target, room, reason, until)
        )

    def _told(
        self, session: Session, notice: ev.Moderated, room: Room | None, target: Target | None
    ) -> list[Envelope]:
        """The room hears of it, and so do its target and its actor wherever they are."""
        out = [] if room is None else [Envelope(room.audience, notice)]
        held = None if target is None else target.session
        for who in (held, session):
            if who is not None and (room is None or room.key not in who.rooms):
                out.append(Envelope(ToSession(who), notice))
                if held is session:
                    break
        return out

    def _uninvite(self, room: Room, identity: Identity) -> None:
        if identity.account is not None and identity.account in room.invited:
            room.invited.discard(identity.account)
            self.store.save_invite(room.key, identity.account, False)
        room.invited.discard(f"name:{identity.key}")

    # ------------------------------------------------------------------ kick, ban, mute

    async def _kick(self, session: Session, command: ev.Kick, now: float) -> list[Envelope]:
        room = self._room(session, command.room)
        if not isinstance(room, Room):
            return room
        key = user_key(normalize_name(command.username))
        held = self.memberships.online.get(key)
        if held is None or held.identity is None:
            remote = self._elsewhere(key)
            if remote is None:
                return error_reply(
                    session, ErrorCode.UNKNOWN_USER, f"No user named {command.username} is online"
                )
            return await self._kick_elsewhere(session, command, room, remote, now)
        if room.key not in held.rooms:
            return error_reply(
                session, ErrorCode.NOT_IN_ROOM, f"{held.identity.name} is not in {room.name}"
            )
        target = Target(held.identity, held)
        refused = self._outranks(session, target.identity, room)
        if refused:
            return refused
        actor = session.identity
        assert actor is not None
        reason = command.reason.strip()[:MAX_REASON]
        name = target.identity.name
        number = self._record(session, "kick", now, target=name, room=room.name, reason=reason)
        notice = ev.Moderated(number, "kick", actor.name, now, room.name, name, reason)
        if room.key == DEFAULT_ROOM:  # everyone is in general: out of it is off the server
            out = [Envelope(ToSession(held), notice)]
            why = f"kicked by {actor.name}" + (f": {reason}" if reason else "")
            out += self.sign_out_elsewhere(held, why, now)
            await self.store.commit()
            return [*out, reply(session, notice)]
        self.memberships.leave(held, room, by=actor)
        self._uninvite(room, target.identity)
        await self.store.commit()
        return self._told(session, notice, room, target)

    async def _kick_elsewhere(
        self, session: Session, command: ev.Kick, room: Room, remote: RemoteUser, now: float
    ) -> list[Envelope]:
        """A kick of a user signed in on another node: checked and recorded here, done
        there (`directed`), which tells the room and the user what a kick here would."""
        if room.key not in remote.rooms:
            return error_reply(
                session, ErrorCode.NOT_IN_ROOM, f"{remote.name} is not in {room.name}"
            )
        refused = self._outranks(session, remote.identity(), room)
        if refused:
            return refused
        actor = session.identity
        assert actor is not None
        reason = command.reason.strip()[:MAX_REASON]
        number = self._record(session, "kick", now, target=remote.name, room=room.name,
                              reason=reason)  # fmt: skip
        await self.store.commit()
        notice = ev.Moderated(number, "kick", actor.name, now, room.name, remote.name, reason)
        self.replica.send(Directive(remote.node, remote.key, notice))
        if room.key == DEFAULT_ROOM:
            return [reply(session, notice)]
        return self._not_member(session, room, notice)

    async def _ban(self, session: Session, command: ev.Ban, now: float) -> list[Envelope]:
        room: Room | None = None
        if command.room is not None:
            found = self._room(session, command.room)
            if not isinstance(found, Room):
                return found
            room = found
            if room.key == DEFAULT_ROOM:
                return error_reply(
                    session,
                    ErrorCode.FORBIDDEN,
                    f"Everyone stays in {DEFAULT_ROOM}: ban from the server instead",
                )
        imposed = await self._impose(
            session, BAN, room, command.username, command.duration, command.reason, now
        )
        if isinstance(imposed, list):
            return imposed
        target, sanction = imposed
        held = target.session
        remote = target.remote
        if remote is not None:  # signed in on another node: it removes the user (`directed`)
            notice = await self._imposed(session, sanction, room, now)
            if room is not None:
                self._uninvite(room, target.identity)
            self.replica.send(Directive(remote.node, remote.key, notice, sanction))
            return (
                [reply(session, notice)]
                if room is None
                else self._not_member(session, room, notice)
            )
        if room is not None:
            self._uninvite(room, target.identity)
            if held is not None and room.key in held.rooms:
                assert session.identity is not None
                self.memberships.leave(held, room, by=session.identity)
        notice = await self._imposed(session, sanction, room, now)
        if room is not None:
            return self._told(session, notice, room, target)
        out = [reply(session, notice)]
        why = f"banned from this server by {notice.by}" + (
            f": {notice.reason}" if notice.reason else ""
        )
        for gone in self._banned_sessions(held, sanction.subject):
            out.append(Envelope(ToSession(gone), notice))
            out += self.sign_out_elsewhere(gone, why, now)
        return out

    async def _impose(
        self,
        session: Session,
        kind: str,
        room: Room | None,
        username: str,
        duration: int | None,
        reason: str,
        now: float,
    ) -> tuple[Target, Sanction] | list[Envelope]:
        """A new ban or mute, in force at once and buffered for the store; or the error."""
        until = self._until(session, duration, now)
        if isinstance(until, list):
            return until
        target = await self._target(username)
        refused = self._outranks(session, target.identity, room)
        if refused:
            return refused
        actor = session.identity
        assert actor is not None
        where = SERVER if room is None else room.key
        subject = subject_of(target.identity, target.session, self.limits.limit_exempt)
        sanction = Sanction(kind, where, subject, until, reason.strip()[:MAX_REASON], actor.name,
                            target.identity.name)  # fmt: skip
        self.sanctions.add(sanction)
        self.store.save_sanction(sanction)
        return target, sanction

    async def _imposed(
        self, session: Session, sanction: Sanction, room: Room | None, now: float
    ) -> ev.Moderated:
        """The audit entry of a new ban or mute, durable, and the notice that tells of it."""
        where = None if room is None else room.name
        s = sanction
        number = self._record(session, s.kind, now, target=s.name, room=where or "",
                              reason=s.reason, until=s.until)  # fmt: skip
        await self.store.commit()
        self.replica.send(Directive(None, "", sanction=sanction))  # every node keeps it
        return ev.Moderated(number, s.kind, s.by, now, where, s.name, s.reason, s.until)

    def _banned_sessions(self, held: Session | None, subject: str) -> list[Session]:
        """The sessions a new server ban ends: its target's, and every guest's from a
        banned address (they are the same people as far as the server can tell)."""
        out = [] if held is None or held.closed or held.identity is None else [held]
        if subject.startswith("address:"):
            address = subject.partition(":")[2]
            out += [
                s
                for s in self.memberships.online.values()
                if s is not held
                and s.identity is not None
                and s.identity.account is None
                and address_of(s) == address
            ]
        return out

    async def _unban(self, session: Session, command: ev.Unban, now: float) -> list[Envelope]:
        return await self._lift(session, BAN, command.room, command.username, now)

    async def _mute(self, session: Session, command: ev.Mute, now: float) -> list[Envelope]:
        room = self._room(session, command.room)
        if not isinstance(room, Room):
            return room
        imposed = await self._impose(
            session, MUTE, room, command.username, command.duration, command.reason, now
        )
        if isinstance(imposed, list):
            return imposed
        target, sanction = imposed
        notice = await self._imposed(session, sanction, room, now)
        return self._told(session, notice, room, target)

    async def _unmute(self, session: Session, command: ev.Unmute, now: float) -> list[Envelope]:
        return await self._lift(session, MUTE, command.room, command.username, now)

    async def _lift(
        self, session: Session, kind: str, room_name: str | None, username: str, now: float
    ) -> list[Envelope]:
        """Unban or unmute: every sanction of that kind there on that user's account or
        name (however it was made: the account, the guest's address, the guest's name)."""
        room: Room | None = None
        if room_name is not None:
            found = self._room(session, room_name)
            if not isinstance(found, Room):
                return found
            room = found
        where = SERVER if room is None else room.key
        key = user_key(normalize_name(username))
        subjects = {f"account:{key}", f"name:{key}"}
        lifted = [
            s
            for (k, r, subject), s in list(self.sanctions.active.items())
            if k == kind and r == where and (subject in subjects or user_key(s.name) == key)
        ]
        if not lifted:
            what = "banned" if kind == BAN else "muted"
            return error_reply(session, ErrorCode.UNKNOWN_USER, f"{username} is not {what} there")
        for sanction in lifted:
            self.sanctions.remove(kind, where, sanction.subject)
            self.store.lift_sanction(kind, where, sanction.subject)
            self.replica.send(Directive(None, key, sanction=sanction, lifted=True))
        name = lifted[0].name
        action = "unban" if kind == BAN else "unmute"
        room_shown = None if room is None else room.name
        number = self._record(session, action, now, target=name, room=room_shown or "")
        await self.store.commit()
        actor = session.identity
        assert actor is not None
        notice = ev.Moderated(number, action, actor.name, now, room_shown, name)
        held = self.memberships.online.get(key)
        target = None if held is None or held.identity is None else Target(held.identity, held)
        return self._told(session, notice, room, target)

    # ------------------------------------------------------------------ roles, modes, invites

    async def _set_role(self, session: Session, command: ev.SetRole, now: float) -> list[Envelope]:
        if command.room is None:
            return await self._set_server_role(session, command, now)
        room = self._room(session, command.room)
        if not isinstance(room, Room):
            return room
        role = command.role.lower()
        if role not in ROOM_ROLES:
            return error_reply(
                session, ErrorCode.INVALID_FIELD, f"A room role is one of: {', '.join(ROOM_ROLES)}"
            )
        target = await self._target(command.username)
        account = target.identity.account
        if account is None:
            return error_reply(
                session, ErrorCode.FORBIDDEN, "Only accounts hold a room role: guests are members"
            )
        refused = self._outranks(session, target.identity, room)
        if refused:
            return refused
        actor = session.identity
        assert actor is not None
        if self._rank(actor, room) <= ROOM_RANK[RoomRole(role)]:
            return error_reply(
                session, ErrorCode.FORBIDDEN, f"Only those above {role} may make someone {role}"
            )
        if role == RoomRole.MEMBER:
            room.roles.pop(account, None)
            self.store.save_room_role(room.key, account, None)
        else:
            room.roles[account] = role
            self.store.save_room_role(room.key, account, role)
        number = self._record(
            session, "role", now, target=target.identity.name, room=room.name, reason=role
        )
        await self.store.commit()
        notice = ev.Moderated(
            number, "role", actor.name, now, room.name, target.identity.name, role=role
        )
        return self._told(session, notice, room, target)

    async def _set_server_role(
        self, session: Session, command: ev.SetRole, now: float
    ) -> list[Envelope]:
        role = command.role.lower()
        if role not in SERVER_ROLES:
            return error_reply(
                session,
                ErrorCode.INVALID_FIELD,
                f"A server role is one of: {', '.join(SERVER_ROLES)}",
            )
        target = await self._target(command.username)
        account = target.identity.account
        actor = session.identity
        assert actor is not None
        if account is None:
            return error_reply(
                session, ErrorCode.UNKNOWN_USER, f"{command.username} has no account"
            )
        if account == actor.account:
            return error_reply(session, ErrorCode.FORBIDDEN, "Not on yourself")
        if not await self.store.update_account(account, role=role):
            return error_reply(
                session, ErrorCode.UNKNOWN_USER, f"{command.username} has no account"
            )
        held = self.memberships.online.get(account)
        if held is not None and held.identity is not None and held.identity.account == account:
            self.memberships.regrade(held, Role(role))
        number = self._record(session, "role", now, target=target.identity.name, reason=role)
        await self.store.commit()
        name = target.identity.name
        notice = ev.Moderated(number, "role", actor.name, now, None, name, role=role)
        out = [reply(session, notice)]
        if held is not None and held is not session:
            out.append(Envelope(ToSession(held), notice))
        return out

    async def _room_mode(
        self, session: Session, command: ev.RoomMode, now: float
    ) -> list[Envelope]:
        room = self._room(session, command.room)
        if not isinstance(room, Room):
            return room
        modes = set(room.modes)
        for mode, value in zip(
            MODES, (command.invite_only, command.moderated, command.topic_locked), strict=True
        ):
            if value is True:
                modes.add(mode)
            elif value is False:
                modes.discard(mode)
        room.modes = frozenset(modes)
        shown = tuple(m for m in MODES if m in modes)
        self.store.save_room_modes(room.key, shown)
        number = self._record(session, "mode", now, room=room.name, reason=",".join(shown))
        await self.store.commit()
        actor = session.identity
        assert actor is not None
        notice = ev.Moderated(number, "mode", actor.name, now, room.name, modes=shown)
        return [Envelope(room.audience, notice), *self._not_member(session, room, notice)]

    def _not_member(self, session: Session, room: Room, notice: ev.Notice) -> list[Envelope]:
        """The actor hears of its own action even when it is not in the room."""
        return [] if room.key in session.rooms else [reply(session, notice)]

    async def _invite(self, session: Session, command: ev.Invite, now: float) -> list[Envelope]:
        room = self._room(session, command.room)
        if not isinstance(room, Room):
            return room
        target = await self._target(command.username)
        identity = target.identity
        if identity.account is None and target.session is None:
            return error_reply(
                session, ErrorCode.UNKNOWN_USER, f"No user named {command.username} is online"
            )
        if identity.account is not None:
            room.invited.add(identity.account)
            self.store.save_invite(room.key, identity.account, True)
        else:  # for this guest's session only: not kept, dropped when it leaves
            room.invited.add(f"name:{identity.key}")
            self.guest_invites.setdefault(identity.key, set()).add(room.key)
        number = self._record(session, "invite", now, target=identity.name, room=room.name)
        await self.store.commit()
        actor = session.identity
        assert actor is not None
        notice = ev.Moderated(number, "invite", actor.name, now, room.name, identity.name)
        out = [reply(session, notice)]
        if target.session is not None and target.session is not session:
            out.append(Envelope(ToUser(identity.key), notice))
        return out

    # ------------------------------------------------------------------ from other nodes

    def directed(self, directive: Directive, here: bool, now: float) -> list[Envelope]:
        """Another node's moderator acted: when the target is signed in `here`, remove it
        as the command would have done here, with the same notices; then keep (or stop
        keeping) the sanction. The actor's node recorded and committed it already."""
        out = self._removed_here(directive, now) if here else []
        sanction = directive.sanction
        # After the removal: a room its last member here left is removed, and forgets its
        # sanctions (Memberships.forgotten); this one must stay.
        if sanction is not None:
            if directive.lifted:
                self.sanctions.remove(sanction.kind, sanction.room_key, sanction.subject)
            else:
                self.sanctions.add(sanction)
        return out

    def _removed_here(self, directive: Directive, now: float) -> list[Envelope]:
        notice = directive.notice
        held = self.memberships.online.get(directive.key)
        if notice is None or held is None or held.identity is None:
            return []
        why = f": {notice.reason}" if notice.reason else ""
        if notice.room is None:  # a server ban
            why = f"banned from this server by {notice.by}{why}"
            out: list[Envelope] = []
            subject = "" if directive.sanction is None else directive.sanction.subject
            for gone in self._banned_sessions(held, subject):
                out.append(Envelope(ToSession(gone), notice))
                out += self.sign_out_elsewhere(gone, why, now)
            return out
        room = self.memberships.find(notice.room)
        if notice.action == "kick" and room is not None and room.key == DEFAULT_ROOM:
            out = [Envelope(ToSession(held), notice)]
            return out + self.sign_out_elsewhere(held, f"kicked by {notice.by}{why}", now)
        if room is None:  # nobody here is in it: the user alone is told
            return [Envelope(ToSession(held), notice)]
        if room.key in held.rooms:
            self.memberships.leave(held, room, by=guest(notice.by, user_key(notice.by)))
        self._uninvite(room, held.identity)
        return [Envelope(room.audience, notice), Envelope(ToSession(held), notice)]

    def forget_guest(self, session: Session) -> None:
        """A guest's invitations end with its session (its name proves nothing later)."""
        identity = session.identity
        if identity is None or identity.account is not None:
            return
        keys = self.guest_invites.pop(identity.key, None)
        if not keys:
            return
        mark = f"name:{identity.key}"
        for key in keys:
            room = self.memberships.rooms.get(key)
            if room is not None:
                room.invited.discard(mark)

    # ------------------------------------------------------------------ messages

    async def _delete_message(
        self, session: Session, command: ev.DeleteMessage, now: float
    ) -> list[Envelope]:
        found = await self.store.message(command.id)
        if not isinstance(found, ev.ChatMessage | ev.FileShared) or found.deleted:
            return error_reply(
                session, ErrorCode.UNKNOWN_MESSAGE, f"No message {command.id} to delete"
            )
        actor = session.identity
        assert actor is not None
        room = self.memberships.find(found.room)
        own = actor.account is not None and user_key(found.username) == actor.account
        if not own and self._rank(actor, room) < OPERATOR_RANK:
            return error_reply(
                session, ErrorCode.FORBIDDEN, "Only its sender or the room's operators may"
            )
        self.store.delete_message(found.id)
        if room is not None:
            kept = [
                ev.ChatMessage(m.id, m.room, m.username, "", m.timestamp, deleted=True)
                if m.id == found.id and isinstance(m, ev.ChatMessage)
                else ev.tombstone(m)
                if m.id == found.id and isinstance(m, ev.FileShared)
                else m
                for m in room.recent
            ]
            room.recent.clear()
            room.recent.extend(kept)
        self._record(session, "delete", now, target=found.username, room=found.room,
                     reason=f"message {found.id}")  # fmt: skip
        await self.store.commit()
        notice = ev.Deleted(found.id, found.room, actor.name, now)
        if room is None:
            return [reply(session, notice)]
        return [Envelope(room.audience, notice), *self._not_member(session, room, notice)]

    async def _announce(self, session: Session, command: ev.Announce, now: float) -> list[Envelope]:
        text = command.message.strip()
        if not text:
            return error_reply(session, ErrorCode.EMPTY_MESSAGE, "Message is empty")
        actor = session.identity
        assert actor is not None
        self._record(session, "announce", now, reason=text[:MAX_REASON])
        await self.store.commit()
        general = self.memberships.rooms[DEFAULT_ROOM]  # everyone is in general
        return [Envelope(general.audience, ev.Announcement(actor.name, text, now))]

    async def _audit(self, session: Session, command: ev.Audit, now: float) -> list[Envelope]:
        room: Room | None = None
        if command.room is not None:
            found = self._room(session, command.room)
            if not isinstance(found, Room):
                return found
            room = found
        rows = await self.store.audit(
            None if room is None else room.key, command.since, max(1, command.limit)
        )
        entries = tuple(
            ev.AuditEntry(r.id, r.timestamp, r.actor, r.action, r.target, r.room, r.reason, r.until)
            for r in rows
        )
        return [reply(session, ev.AuditLog(entries, None if room is None else room.name))]
