"""Who is online and who is in which room: the one owner of that bookkeeping.

Every change goes through a method here, which first tells the fact listener (the server's
fan-out, see engine/facts.py), then changes the state, then saves what an account keeps.
Guests keep nothing across sessions: a name proves nothing, so a later holder of the
same name must not inherit an earlier one's rooms.

It is also the read side the fan-out resolves audiences with (`members`, `sessions_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from enum import StrEnum

from chinwag.engine.facts import (
    FactListener,
    Joined,
    Left,
    NoListener,
    Renamed,
    SignedIn,
    SignedOut,
)
from chinwag.engine.identity import Identity, Role
from chinwag.engine.names import room_key
from chinwag.engine.room import Room
from chinwag.engine.session import Session
from chinwag.protocol.events import DEFAULT_ROOM
from chinwag.storage.base import RoomRecord, Store, StoreState

log = logging.getLogger("chinwag.engine")

# Distinct tuples of room keys kept for sharing before the table starts afresh (see shared).
MAX_SHARED_KEYS = 10_000

_NOBODY: dict[Session, str] = {}


def _nothing(key: str) -> None:
    pass


def _nowhere(key: str) -> bool:
    return False


class RoomRole(StrEnum):
    """Roles inside a room, lowest first (see ROOM_RANK). Only accounts hold one above
    member: whoever created the room is its owner."""

    MEMBER = "member"
    VOICE = "voice"  # may speak in a moderated room
    OPERATOR = "operator"
    OWNER = "owner"


ROOM_RANK = {RoomRole.MEMBER: 1, RoomRole.VOICE: 2, RoomRole.OPERATOR: 3, RoomRole.OWNER: 4}


class Memberships:
    def __init__(
        self, store: Store, *, recent_size: int = 20, listener: FactListener | None = None
    ) -> None:
        self.store = store
        self.recent_size = max(1, recent_size)
        self.listener: FactListener = listener or NoListener()
        self.rooms: dict[str, Room] = {}
        self.online: dict[str, Session] = {}  # identity key -> its session on this node
        # account key -> room keys it keeps. Tuples (shared, see `shared`), not sets: most
        # users have a room or two, and an empty set alone is 216 bytes.
        self.saved: dict[str, tuple[str, ...]] = {}
        self._shared_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        # Called with a removed room's key, so that what others keep about the room (the
        # engine's bans and mutes) goes with it: a room made again later starts clean.
        self.forgotten: Callable[[str], None] = _nothing
        # Whether members on other nodes are in the room (the engine's presence replica):
        # then the row in the store the nodes share is theirs too, and stays.
        self.held_elsewhere: Callable[[str], bool] = _nowhere

    def load(self, state: StoreState) -> None:
        self.saved = {
            account: self.shared(tuple(sorted(keys))) for account, keys in state.memberships.items()
        }
        for record in state.rooms:
            room = Room(record.name, record.topic, self.recent_size, used=record.used)
            room.topic_by, room.topic_at = record.topic_by, record.topic_at
            room.roles = dict(state.room_roles.get(room.key, {}))
            room.modes = frozenset(state.room_modes.get(room.key, ()))
            room.invited = set(state.invites.get(room.key, ()))
            self.rooms[room.key] = room
        for keys in self.saved.values():
            for key in keys:
                if key in self.rooms:
                    self.rooms[key].keepers += 1
        if DEFAULT_ROOM not in self.rooms:
            self.create(DEFAULT_ROOM)
        for room in list(self.rooms.values()):  # left over from a flood, or a crash
            self._remove_if_unused(room)

    def _remove_if_unused(self, room: Room) -> None:
        if room.members or room.used or room.keepers or room.key == DEFAULT_ROOM:
            return
        if room.modes or room.invited:  # its operators made it a room to keep
            return
        del self.rooms[room.key]
        if not self.held_elsewhere(room.key):
            self.store.delete_room(room.key)
        self.forgotten(room.key)
        log.info("Removed room %s: nobody is in it and nothing was said there", room.name)

    # ------------------------------------------------------------------ reading

    def members(self, key: str) -> Collection[Session]:
        """The room's members on this node, live (read when a batch is written)."""
        room = self.rooms.get(key)
        return _NOBODY if room is None else room.members

    def sessions_of(self, key: str) -> Collection[Session]:
        session = self.online.get(key)
        return () if session is None else (session,)

    def find(self, name: str) -> Room | None:
        """A room by name as a user types it (`#Dev` finds dev)."""
        return self.rooms.get(room_key(name.lstrip("#")))

    def of(self, session: Session) -> list[Room]:
        """The rooms a session is in, general first."""
        return [self.rooms[key] for key in session.rooms]

    def saved_rooms(self, identity: Identity) -> tuple[str, ...]:
        """The rooms an account keeps; nothing for a guest."""
        return () if identity.account is None else self.saved.get(identity.account, ())

    def room_role(self, session: Session, room: Room) -> RoomRole:
        identity = session.identity
        if identity is None or identity.account is None or not room.roles:
            return RoomRole.MEMBER
        return RoomRole(room.roles.get(identity.account, RoomRole.MEMBER))

    def shared(self, keys: tuple[str, ...]) -> tuple[str, ...]:
        """An equal tuple of room keys if one is in use already, else `keys`.

        Thousands of users sit in the same few rooms: they then hold one tuple between them
        (a tuple of two keys is 56 bytes). Emptying the table when it is full only stops new
        tuples from being shared, so it stays bounded whatever rooms users make.
        """
        table = self._shared_keys
        if len(table) >= MAX_SHARED_KEYS:
            table.clear()
        return table.setdefault(keys, keys)

    # ------------------------------------------------------------------ changing

    def create(self, name: str, owner: str | None = None) -> Room:
        """A new room; an account that makes one owns it."""
        room = self.rooms[room_key(name)] = Room(name, recent_size=self.recent_size)
        self.store.save_room(RoomRecord(name))
        if owner is not None and room.key != DEFAULT_ROOM:
            room.roles[owner] = RoomRole.OWNER
            self.store.save_room_role(room.key, owner, RoomRole.OWNER)
        return room

    def sign_in(self, session: Session, identity: Identity) -> None:
        self.listener.before(SignedIn(session, identity))
        session.identity = identity
        self.online[identity.key] = session

    def rename(self, session: Session, new: Identity) -> None:
        """The session is known by another name, or (a guest who logs in or registers)
        becomes an account, which then keeps the rooms the guest was in."""
        old = session.identity
        assert old is not None
        self.listener.before(Renamed(session, old, new))
        del self.online[old.key]
        session.identity = new
        self.online[new.key] = session
        for room in self.of(session):
            room.members[session] = new.name
            if new.account is not None:
                room.accounts[session] = new.name
                if new.account != old.account:
                    self._keep(new.account, room)
            else:
                room.accounts.pop(session, None)

    def enter(self, session: Session, room: Room) -> None:
        """Make the session a member (it is not one yet); an account keeps the room."""
        self.listener.before(Joined(session, room))
        key = room.key  # the room's own string: sessions and saved rooms share it
        identity = session.identity
        assert identity is not None
        room.members[session] = identity.name
        session.rooms = self.shared((*session.rooms, key))
        if identity.account is not None:
            room.accounts[session] = identity.name
            self._keep(identity.account, room)

    def _keep(self, account: str, room: Room) -> None:
        """The account keeps the room (general needs no keeping: everyone is in it)."""
        key = room.key
        if key == DEFAULT_ROOM:
            return
        kept = self.saved.get(account, ())
        if key not in kept:
            self.saved[account] = self.shared((*kept, key))
            self.store.save_membership(account, key, True)
            room.keepers += 1

    def leave(self, session: Session, room: Room, *, by: Identity | None = None) -> None:
        """The session stops being a member; an account no longer keeps the room."""
        self.listener.before(Left(session, room, by))
        room.members.pop(session, None)
        room.accounts.pop(session, None)
        session.rooms = self.shared(tuple(k for k in session.rooms if k != room.key))
        identity = session.identity
        if identity is not None and identity.account is not None:
            kept = self.saved.get(identity.account, ())
            if room.key in kept:
                self.saved[identity.account] = self.shared(tuple(k for k in kept if k != room.key))
                room.keepers -= 1
            self.store.save_membership(identity.account, room.key, False)
        self._remove_if_unused(room)

    def sign_out(self, session: Session) -> list[Room]:
        """The connection is gone: out of every room (an account keeps them), then offline.
        Returns the rooms it was in, for the notices."""
        identity = session.identity
        if identity is None or self.online.get(identity.key) is not session:
            return []
        rooms = self.of(session)
        for room in rooms:
            self.listener.before(Left(session, room))
            room.members.pop(session, None)
            room.accounts.pop(session, None)
            self._remove_if_unused(room)
        session.rooms = ()
        self.listener.before(SignedOut(session))
        del self.online[identity.key]
        return rooms

    def regrade(self, session: Session, role: Role) -> None:
        """An admin gave the account another role (its name and rooms stay)."""
        identity = session.identity
        assert identity is not None
        session.identity = Identity(identity.name, identity.key, identity.account, role)

    def forget_account(self, account: str) -> None:
        """A deleted account keeps no rooms any more (its sessions were signed out)."""
        for key in self.saved.pop(account, ()):
            room = self.rooms.get(key)
            if room is not None:
                room.keepers -= 1
                self._remove_if_unused(room)
