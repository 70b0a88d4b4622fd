"""The state every handler module of the engine shares, and the helpers they all use.

`Engine` (engine.py) is this plus the handler mixins (joining, messages, rooms) and the
command table. Handlers are synchronous unless they read the store; they take `now`
from the caller (one reading of the clock per command) and return envelopes.
"""

from __future__ import annotations

import itertools
from collections import deque

from chinwag.bus.base import Envelope, ToSession
from chinwag.engine.identity import Identity, Role
from chinwag.engine.limits import Limits, as_history, error_reply
from chinwag.engine.memberships import ROOM_RANK, Memberships, RoomRole
from chinwag.engine.names import room_key
from chinwag.engine.ratelimit import TokenBucket, take_lazily
from chinwag.engine.replay import Replay
from chinwag.engine.replica import RemoteUser, Replica
from chinwag.engine.room import Room
from chinwag.engine.sanctions import BAN, MUTE, SERVER, Sanctions, subjects_of
from chinwag.engine.session import Session
from chinwag.engine.throttle import LoginThrottle
from chinwag.passwords import Passwords
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.sentences import duration
from chinwag.storage.base import Sanction, Store

MAX_CREATORS = 10_000  # room-creation buckets kept before the full ones are forgotten
SERVER_RANK = {Role.MODERATOR: 10, Role.ADMIN: 11}
INVITE_ONLY, MODERATED, TOPIC_LOCKED = "invite_only", "moderated", "topic_locked"
MODES = (INVITE_ONLY, MODERATED, TOPIC_LOCKED)
OPERATOR_RANK = ROOM_RANK[RoomRole.OPERATOR]
WHOWAS_KEPT = 500  # sign-outs remembered for `whowas` (the oldest are forgotten)


class EngineBase:
    def __init__(
        self, store: Store, limits: Limits, name: str, passwords: Passwords | None
    ) -> None:
        self.store = store
        self.limits = limits
        self.name = name
        # Accounts (engine/accounts.py): None turns them off (engine tests of other parts).
        self.passwords = passwords
        self.registered: set[str] = set()  # keys of every account (loaded at start)
        self.throttle = LoginThrottle(limits.limit_exempt)
        # The hash of the token each signed-in account session holds (for logout, and to
        # end sessions whose token an admin revoked).
        self.tokens: dict[Session, str] = {}
        self.memberships = Memberships(store, recent_size=limits.history_on_join)
        # Who is signed in on the other nodes (engine/replica.py; empty with one node).
        self.replica = Replica()
        # False while the store cannot write (the server gave up on it): messages are then
        # refused with store_unavailable instead of waiting for ever.
        self.storing = True
        self._guest_numbers = itertools.count(1)  # `Client N` for those who give no name
        # Hourly creation buckets (rooms and accounts), see _bucket.
        self._creators: dict[str, TokenBucket] = {}
        self.sanctions = Sanctions()  # bans and mutes in force (engine/sanctions.py)
        # guest key -> rooms it was invited to (for its session only, see moderation.py)
        self.guest_invites: dict[str, set[str]] = {}
        # Who is away, with what message (`away`): a dict beside the sessions, so that
        # the many who are not away cost nothing. Emptied of a session as it closes.
        self.away: dict[Session, str] = {}
        # The latest sign-outs, (name key, what `whowas` tells), oldest first: bounded.
        self.departed: deque[tuple[str, ev.SignedOff]] = deque(maxlen=WHOWAS_KEPT)

    # ------------------------------------------------------------------ moderation rules

    def _rank(self, identity: Identity, room: Room | None) -> int:
        """How much say a user has in a room: guest 0, member 1, voice 2, operator 3,
        owner 4; server moderators 10 and admins 11 outrank every room role."""
        server = SERVER_RANK.get(identity.role)
        if server is not None:
            return server
        if identity.account is None:
            return 0
        if room is None or not room.roles:
            return 1
        return ROOM_RANK[RoomRole(room.roles.get(identity.account, RoomRole.MEMBER))]

    def _server_ban(self, session: Session, identity: Identity, now: float) -> Sanction | None:
        subjects = subjects_of(identity, session, self.limits.limit_exempt, address_too=True)
        return self.sanctions.find(BAN, SERVER, subjects, now)

    def _banned_reply(
        self, session: Session, ban: Sanction, where: str, now: float
    ) -> list[Envelope]:
        until = "" if ban.until is None else f" for {duration(ban.until - now)}"
        why = f": {ban.reason}" if ban.reason else ""
        return error_reply(session, ErrorCode.BANNED, f"You are banned from {where}{until}{why}")

    def _shut_out(self, session: Session, ban: Sanction, now: float) -> list[Envelope]:
        """A server ban refuses the join or login, and the connection is closed."""
        goodbye = ev.Goodbye("Disconnected: you are banned from this server")
        out = self._banned_reply(session, ban, "this server", now)
        return [*out, Envelope(ToSession(session), goodbye, close="banned")]

    def _entry_refused(
        self, session: Session, identity: Identity, room: Room, now: float
    ) -> list[Envelope] | None:
        """None if the user may enter the room, else the error: a room ban, or an
        invite-only room it was not invited to."""
        subjects = subjects_of(identity, session, self.limits.limit_exempt, address_too=False)
        ban = self.sanctions.find(BAN, room.key, subjects, now)
        if ban is not None:
            return self._banned_reply(session, ban, room.name, now)
        if (
            INVITE_ONLY in room.modes
            and self._rank(identity, room) < ROOM_RANK[RoomRole.VOICE]
            and identity.account not in room.invited
            and f"name:{identity.key}" not in room.invited
        ):
            return error_reply(
                session, ErrorCode.INVITE_ONLY, f"{room.name} is invite-only: ask an operator"
            )
        return None

    def _speech_refused(self, session: Session, room: Room, now: float) -> list[Envelope] | None:
        """None if the session may speak in the room (chat, topic), else the error."""
        identity = session.identity
        assert identity is not None
        if room.key in self.sanctions.muted_rooms:
            subjects = subjects_of(identity, session, self.limits.limit_exempt, address_too=False)
            mute = self.sanctions.find(MUTE, room.key, subjects, now)
            if mute is not None:
                until = "" if mute.until is None else f" for {duration(mute.until - now)}"
                return error_reply(session, ErrorCode.MUTED, f"You are muted in {room.name}{until}")
        if MODERATED in room.modes and self._rank(identity, room) < ROOM_RANK[RoomRole.VOICE]:
            return error_reply(
                session,
                ErrorCode.FORBIDDEN,
                f"{room.name} is moderated: only voiced members and operators speak",
            )
        return None

    def _take_message(self, session: Session, now: float) -> bool:
        """A token for content (chat, private, topic): one bucket for all three."""
        lim = self.limits
        granted, session.messages = take_lazily(
            session.messages, lim.message_rate, lim.message_burst, now
        )
        return granted

    def _may_create(self, session: Session, now: float) -> list[Envelope] | None:
        """None if the session may make one more room now, else the error that says why.

        Checked before a room is made: a flood of rooms (one made every few milliseconds by
        a few connections) would otherwise fill the store and every room list."""
        lim = self.limits
        if len(self.memberships.rooms) >= lim.max_rooms:
            return error_reply(
                session, ErrorCode.ROOM_LIMIT, "The server has all the rooms it may have"
            )
        identity = session.identity
        assert identity is not None
        keys = [f"user:{identity.key}"]
        address = session.peer.rpartition(":")[0]
        if address not in lim.limit_exempt:
            keys.append(f"address:{address}")
        buckets = [self._bucket(key, now) for key in keys]
        if not all(bucket.ready(now) for bucket in buckets):
            return error_reply(
                session, ErrorCode.RATE_LIMITED, "Too many new rooms from you; join one instead"
            )
        for bucket in buckets:
            bucket.take(now)
        return None

    def _bucket(self, key: str, now: float) -> TokenBucket:
        """The hourly bucket of one creator: "user:<key>" and "address:<host>" make rooms,
        "register:<host>" makes accounts."""
        creators = self._creators
        bucket = creators.get(key)
        if bucket is None:
            if len(creators) >= MAX_CREATORS:  # forget those who could create anyway
                for old in [k for k, b in creators.items() if b.full(now)]:
                    del creators[old]
            lim = self.limits
            kind = key.partition(":")[0]
            per_hour = {
                "address": lim.rooms_per_address_hour,
                "register": lim.registrations_per_address_hour,
            }.get(kind, lim.rooms_per_hour)
            bucket = creators[key] = TokenBucket(per_hour / 3600, per_hour, now)
        return bucket

    def _member_room(self, session: Session, name: str) -> Room | list[Envelope]:
        """The room a command names, if the session is in it; else the error to answer."""
        key = room_key(name.lstrip("#"))
        if key not in session.rooms:
            if key in self.memberships.rooms:
                return error_reply(session, ErrorCode.NOT_IN_ROOM, f"You are not in room {name}")
            return error_reply(session, ErrorCode.UNKNOWN_ROOM, f"No room named {name}")
        return self.memberships.rooms[key]

    def _elsewhere(self, key: str) -> RemoteUser | None:
        """The user signed in on another node under this key (the replica), if any."""
        users = self.replica.users
        return users.get(key) if users else None

    def _remote_members(self, room_key: str) -> list[RemoteUser]:
        """The room's members on other nodes, one per key, none that is also here (a login
        that moved an account here is shown once, as this node's)."""
        remote = self.replica.rooms.get(room_key)
        if not remote:
            return []
        online = self.memberships.online
        seen: dict[str, RemoteUser] = {}
        for user in remote:
            if user.key not in online:
                seen.setdefault(user.key, user)
        return list(seen.values())

    def present(self, room: Room) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Who is in the room on every node, and who of them are accounts."""
        names = room.usernames()
        accounts = room.account_names()
        if self.replica.rooms:
            remote = self._remote_members(room.key)
            names += tuple(user.name for user in remote)
            accounts += tuple(user.name for user in remote if user.account is not None)
        return names, accounts

    def room_joined(self, room: Room) -> ev.RoomJoined:
        """What a member is told of a room it is in: topic, who is there, who of them are
        accounts (the rest are guests)."""
        names, accounts = self.present(room)
        if not room.roles and not room.modes:
            return ev.RoomJoined(
                room.name, room.topic, names, accounts, topic_by=room.topic_by,
                topic_at=room.topic_at,
            )  # fmt: skip
        operators, voiced = [], []
        held = [
            (session.identity.account if session.identity else None, name)
            for session, name in room.accounts.items()
        ]
        held += [(user.account, user.name) for user in self._remote_members(room.key)]
        for account, name in held:
            role = room.roles.get(account) if account is not None else None
            if role in (RoomRole.OPERATOR, RoomRole.OWNER):
                operators.append(name)
            elif role == RoomRole.VOICE:
                voiced.append(name)
        modes = tuple(m for m in MODES if m in room.modes)
        return ev.RoomJoined(
            room.name, room.topic, names, accounts, tuple(operators), tuple(voiced), modes,
            room.topic_by, room.topic_at,
        )  # fmt: skip

    def _replay_recent(self, session: Session, rooms: list[Room]) -> list[Envelope]:
        """The rooms' recent history for a joiner, streamed by its connection."""
        if self.store.ids_at_commit:  # other servers' messages are in the store only
            if not rooms:
                return []
            tail = Replay(rooms=tuple(room.key for room in rooms), tail=self.limits.history_on_join)
            return [Envelope(ToSession(session), tail)]
        recent = tuple(as_history(m) for room in rooms for m in room.recent)
        if not recent:
            return []
        return [Envelope(ToSession(session), Replay(recent=recent))]
