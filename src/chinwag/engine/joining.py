"""Joining, rejoining and renaming: how a session gets its identity and its rooms.

A mixin of `Engine`. A join without credentials makes a guest: it gets the name it asked
for, if free, and nothing an earlier holder of that name kept (no saved rooms, no private
messages on `since`). A reconnecting client names the rooms it wants back in `rooms`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Collection

from chinwag.bus.base import Envelope, ToRooms, ToSession
from chinwag.engine.base import EngineBase
from chinwag.engine.identity import Identity, guest
from chinwag.engine.limits import TOO_MANY_ROOMS, error_reply, reply
from chinwag.engine.names import (
    NAME_MAX,
    NAME_RULE,
    ROOM_RULE,
    normalize_name,
    normalize_room,
    room_key,
    user_key,
    valid_username,
)
from chinwag.engine.replay import Replay
from chinwag.engine.room import Room
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode

log = logging.getLogger("chinwag.engine")


def resume_digest(secret: str) -> bytes:
    """What a node keeps of a guest's resume secret (and tells the other nodes, in hex)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class JoinCommands(EngineBase):
    def _claim(self, session: Session, requested: str | None) -> Identity | list[Envelope]:
        """The guest identity a join asks for, or the error that refuses it."""
        if session.identity is not None:
            return error_reply(
                session, ErrorCode.ALREADY_JOINED, f"Already joined as {session.identity.name}"
            )
        if self.limits.guests == "deny":
            return error_reply(
                session,
                ErrorCode.LOGIN_REQUIRED,
                "This server is for accounts only: log in with your password, or register",
            )
        online = self.memberships.online
        if requested is None:
            while True:  # server-picked names have a space, so no user can claim one
                requested = f"Client {next(self._guest_numbers)}"
                key = user_key(requested)
                if key not in online and self._elsewhere(key) is None:
                    break
        else:
            requested = normalize_name(requested)
            checked = self._name_key(session, requested)
            if not isinstance(checked, str):
                return checked
            key = checked
        if key == requested:
            key = requested  # one string, not two, when the name is already case-folded
        refused = self._guest_may_take(session, key)
        if refused:
            return refused
        return guest(requested, key)

    def _name_key(self, session: Session, name: str) -> str | list[Envelope]:
        """The key of a (normalised) name someone asks for, or the error that refuses it.

        A look-alike of a registered name is `name_registered`, and of a name online
        `name_taken`, even when it is not a valid name (`alice` with a Cyrillic `a` mixes
        scripts), so that the answer says what it is."""
        key = user_key(name) if len(name) <= NAME_MAX else None
        if key is not None:
            refused = self._guest_may_take(session, key)
            if refused:
                return refused
        if key is None or not valid_username(name):
            return error_reply(session, ErrorCode.INVALID_NAME, NAME_RULE)
        return key

    def _name_registered(self, session: Session) -> list[Envelope]:
        return error_reply(
            session,
            ErrorCode.NAME_REGISTERED,
            "That name (or one that looks like it) belongs to an account: log in with its"
            " password, or pick another",
        )

    def _guest_may_take(self, session: Session, key: str) -> list[Envelope] | None:
        """None if a guest may call itself by the name with this key, else the error."""
        if key in self.registered:
            return self._name_registered(session)
        return self._name_held(session, key)

    def _name_held(self, session: Session, key: str) -> list[Envelope] | None:
        """`name_taken` if another session holds the key, on this node or another one (an
        account signed in elsewhere is `name_registered`: its name is proven)."""
        holder = self.memberships.online.get(key)
        if holder is not None and holder is not session:
            return error_reply(session, ErrorCode.NAME_TAKEN, "Username already taken")
        remote = self._elsewhere(key)
        if remote is not None:
            if remote.account is not None:
                return self._name_registered(session)
            if session.resume and hmac.compare_digest(remote.resume, session.resume):
                return None  # the same guest, back through this node (server/nodes.py)
            return error_reply(session, ErrorCode.NAME_TAKEN, "Username already taken")
        return None

    def sign_out_elsewhere(
        self,
        session: Session,
        reason: str,
        now: float,
        *,
        newer: Session | None = None,
        kept: Collection[str] = (),
    ) -> list[Envelope]:
        """End another session of an account (or a guest in its name): it is told why, the
        rooms it was in see it leave (but not the `newer` session that replaces it, which
        is a member by the time they are delivered, nor the rooms in `kept`, where the
        same name stays: the session that replaces it on another node is in them), and its
        connection closes."""
        identity = session.identity
        self.tokens.pop(session, None)
        rooms = self.memberships.sign_out(session)
        session.identity = None  # whatever it still sends is refused: it is nobody now
        out = [Envelope(ToSession(session), ev.Goodbye(f"Signed out: {reason}"), close=reason)]
        if identity is not None:
            out += [
                Envelope(
                    room.audience,
                    ev.UserLeft(room.name, identity.name, now, reason),
                    exclude=newer,
                )
                for room in rooms
                if room.key not in kept
            ]
        return out

    def _resume(self, session: Session, command: ev.Join, now: float) -> list[Envelope]:
        """A guest shows the resume secret of the session it was (its connection died, the
        server may not know yet): that session, if it is here, is signed out; if it is on
        another node, its name is not held against this join, and that node signs it out
        when it hears of this one. A wrong or stale secret does nothing."""
        assert command.resume is not None and command.username is not None
        name = normalize_name(command.username)
        if len(name) > NAME_MAX:
            return []
        key = user_key(name)
        digest = resume_digest(command.resume)
        holder = self.memberships.online.get(key)
        if holder is not None and holder is not session:
            held = holder.identity
            if (
                held is not None
                and held.account is None
                and holder.resume
                and hmac.compare_digest(holder.resume, digest)
            ):
                session.resume = digest
                log.info("%s resumed from %s", held.name, session.peer)
                return self.sign_out_elsewhere(
                    holder, "resumed on another connection", now, newer=session
                )
            return []
        remote = self._elsewhere(key)
        if (
            remote is not None
            and remote.account is None
            and remote.resume
            and hmac.compare_digest(remote.resume, digest)
        ):
            session.resume = digest
        return []

    def admit(
        self,
        session: Session,
        identity: Identity,
        wanted: tuple[str, ...],
        now: float,
        *,
        token: str | None = None,
        resume: str | None = None,
    ) -> tuple[list[Envelope], list[Envelope]]:
        """Sign the session in and put it in its rooms: general, what its account keeps and
        what it asked for. Returns (its welcome and room notices, the notices for others).

        The one door into the chat: a guest join, a login and a registration come through
        here. A joined guest who logs in or registers becomes the account in place: the
        others see it renamed, and it enters the account's rooms too."""
        memberships = self.memberships
        before = session.identity
        presence: list[Envelope] = []
        secret: str | None = None  # a guest's resume secret, told to it alone
        if identity.account is not None:
            session.resume = b""
        else:
            # Proven (`_resume`): the same secret again; else a new one.
            secret = resume if resume is not None and session.resume else secrets.token_urlsafe(16)
            session.resume = resume_digest(secret)
        if before is None:
            memberships.sign_in(session, identity)
        else:
            memberships.rename(session, identity)
            if before.name != identity.name:
                presence.append(
                    Envelope(
                        ToRooms(session.rooms),
                        ev.UserRenamed(
                            before.name, identity.name, now, identity.account is not None
                        ),
                    )
                )
        to = ToSession(session)
        replies: list[Envelope] = []
        keys = set(memberships.saved_rooms(identity))
        for name in wanted[: self.limits.max_rooms_per_user]:
            room = self._wanted_room(session, name, replies, now)
            if room is not None:
                keys.add(room.key)
        keys.difference_update(session.rooms)
        keys.discard(DEFAULT_ROOM)
        limit = max(0, self.limits.max_rooms_per_user - len(session.rooms or (DEFAULT_ROOM,)))
        new = sorted(keys)
        if before is None:
            new.insert(0, DEFAULT_ROOM)
            limit += 1
        if len(new) > limit:
            new = new[:limit]
            replies.extend(error_reply(session, ErrorCode.INVALID_ROOM, TOO_MANY_ROOMS))
        for room in [room for room in map(memberships.rooms.get, new) if room is not None]:
            if room.key != DEFAULT_ROOM:
                refused = self._entry_refused(session, identity, room, now)
                if refused is not None:
                    replies.extend(refused)
                    continue
            memberships.enter(session, room)
            presence.append(
                Envelope(
                    room.audience,
                    ev.UserJoined(room.name, identity.name, now, identity.account is not None),
                    exclude=session,
                )
            )
        rooms = memberships.of(session)
        users, accounts = self.present(memberships.rooms[DEFAULT_ROOM])
        account = identity.account is not None
        welcome = ev.Welcome(
            username=identity.name,
            message=f"Welcome to {self.name}, {identity.name}!",
            users=users,
            rooms=tuple(room.name for room in rooms),
            last_id=self.store.last_id,
            timestamp=now,
            accounts=accounts,
            guest=not account,
            account=identity.name if account else None,
            token=token,
            resume=secret,
        )
        answer = [Envelope(to, welcome), *replies]
        for room in rooms[1:]:
            answer.append(reply(session, self.room_joined(room)))
        return answer, presence

    def _wanted_room(
        self, session: Session, name: str, errors: list[Envelope], now: float
    ) -> Room | None:
        """A room a joining client asked to be put back in (made if it does not exist)."""
        normal = normalize_room(name)
        if normal is None:
            errors.extend(error_reply(session, ErrorCode.INVALID_ROOM, f"{ROOM_RULE}: {name[:40]}"))
            return None
        room = self.memberships.rooms.get(room_key(normal))
        if room is not None:
            return room
        refused = self._may_create(session, now)
        if refused is not None:
            errors.extend(refused)
            return None
        assert session.identity is not None
        return self.memberships.create(normal, owner=session.identity.account)

    def _join(self, session: Session, command: ev.Join, now: float) -> list[Envelope]:
        resumed: list[Envelope] = []
        if command.resume and command.username and session.identity is None:
            resumed = self._resume(session, command, now)
        identity = self._claim(session, command.username)
        if not isinstance(identity, Identity):
            session.resume = b""
            return resumed + identity
        ban = self._server_ban(session, identity, now)
        if ban is not None:
            return resumed + self._shut_out(session, ban, now)
        answer, presence = self.admit(session, identity, command.rooms, now, resume=command.resume)
        if command.since is None:
            answer += self._replay_recent(session, self.memberships.of(session))
            log.info("%s joined from %s (%s)", identity.name, session.peer, session.dialect)
        else:
            answer.append(self._replay_missed(session, identity, command.since))
            log.info("%s rejoined from %s since %d", identity.name, session.peer, command.since)
        return resumed + answer + presence

    def _replay_missed(self, session: Session, identity: Identity, since: int) -> Envelope:
        """Rejoin after a disconnect: exactly the messages missed, once, in order.

        The session is a member already, and `upto` is the last id now: live messages after
        it reach the session as usual (its connection holds them until the replay is out),
        and the store supplies (since, upto]. Private messages are replayed only to an
        account: a guest proves nothing about who it was.
        """
        replay = Replay(
            rooms=session.rooms,
            account=identity.account,
            since=since,
            upto=self.store.last_id,
            limit=self.limits.replay_limit,
        )
        return Envelope(ToSession(session), replay)

    def _rename(self, session: Session, command: ev.Rename, now: float) -> list[Envelope]:
        old = session.identity
        assert old is not None
        if old.account is not None:
            return error_reply(
                session, ErrorCode.FORBIDDEN, "An account keeps its name; log out to be a guest"
            )
        name = normalize_name(command.username)
        if name == old.name:  # nothing changes: nobody is told of a rename
            return [reply(session, ev.Done("nick", f"You are already called {name}"))]
        new_key = self._name_key(session, name)
        if not isinstance(new_key, str):
            return new_key
        refused = self._guest_may_take(session, new_key)
        if refused:
            return refused
        self.memberships.rename(session, old.renamed(name, new_key))
        log.info("%s is now known as %s", old.name, name)
        return [Envelope(ToRooms(session.rooms), ev.UserRenamed(old.name, name, now))]
