"""The other nodes' presence, as this node knows it: a plain data object the engine reads.

Several `chinwag serve` processes (nodes) share rooms through a bus. Each node's engine owns
its own sessions (`Memberships`); what it knows of the others' users is this replica, which
the server layer (server/nodes.py) keeps up to date from the bus: node id -> the users signed
in there (name, key, account, role, when they signed in, their rooms). With one node it
stays empty, and every look-up in it is one empty-dict test.

The engine consults it where "who is online" matters beyond its own node: a name is free
only if no node holds its key; user lists and room member lists show everyone; a private
message may go to a user signed in elsewhere; a kick or ban of such a user is a `Directive`
the engine hands to `send` (the server layer carries it to the user's node, which does the
removal as if the command had run there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from chinwag.engine.identity import Identity, Role
from chinwag.protocol.events import Moderated
from chinwag.storage.base import Sanction


@dataclass(eq=False, slots=True)
class RemoteUser:
    """A user signed in on another node. Compared by identity (it is a dict key)."""

    node: str
    key: str
    name: str
    account: str | None = None
    role: Role = Role.GUEST
    stamp: int = 0  # when it took this name, as a Lamport stamp of its node: decides races
    rooms: dict[str, str] = field(default_factory=dict)  # room key -> room name
    resume: bytes = b""  # a guest's resume digest (engine/joining.py): it may come back here

    def identity(self) -> Identity:
        return Identity(self.name, self.key, self.account, self.role)


@dataclass(frozen=True, slots=True)
class Directive:
    """A moderator's action that another node must carry out or keep.

    `node` names the node where the target `key` is signed in (None: nobody to remove, the
    nodes only keep the sanction); it removes the user as if the command had run there and
    tells the same notices (`notice`). `sanction` is a ban or mute every node keeps from
    now on, or (`lifted`) stops keeping."""

    node: str | None
    key: str
    notice: Moderated | None = None
    sanction: Sanction | None = None
    lifted: bool = False


def _drop(directive: Directive) -> None:
    pass


class Replica:
    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, RemoteUser]] = {}  # node -> user key -> user
        self.users: dict[str, RemoteUser] = {}  # user key -> a node's user with that key
        self.rooms: dict[str, dict[RemoteUser, None]] = {}  # room key -> its remote members
        # Where the engine hands a directive (set by the server layer; nowhere with one node).
        self.send: Callable[[Directive], None] = _drop

    # ------------------------------------------------------------------ reading

    def user(self, key: str) -> RemoteUser | None:
        return self.users.get(key)

    def members(self, room_key: str) -> Iterable[RemoteUser]:
        return self.rooms.get(room_key, ())

    def room_name(self, room_key: str) -> str | None:
        """The room's name as another node has it (a room nobody here is in)."""
        for user in self.rooms.get(room_key, ()):
            return user.rooms[room_key]
        return None

    # ------------------------------------------------------------------ changing (server layer)

    def add(self, user: RemoteUser) -> None:
        """A user signed in on its node (replacing what that node had under its key)."""
        self.remove(user.node, user.key)
        self.nodes.setdefault(user.node, {})[user.key] = user
        self.users.setdefault(user.key, user)
        for key in user.rooms:
            self.rooms.setdefault(key, {})[user] = None

    def remove(self, node: str, key: str) -> RemoteUser | None:
        """A user signed out of its node; returns it (with the rooms it was in)."""
        users = self.nodes.get(node)
        user = None if users is None else users.pop(key, None)
        if user is None:
            return None
        for room in user.rooms:
            self._out_of(room, user)
        if self.users.get(key) is user:
            del self.users[key]
            for other in self.nodes.values():  # the same key on a third node (a race)
                if key in other:
                    self.users[key] = other[key]
                    break
        return user

    def rename(self, node: str, old: str, new: RemoteUser) -> None:
        """Known by another name on its node (a guest's rename, or a login): rooms stay."""
        before = self.remove(node, old)
        if before is not None:
            new.rooms = before.rooms
        self.add(new)

    def enter(self, node: str, key: str, room_key: str, room_name: str) -> None:
        user = self.nodes.get(node, {}).get(key)
        if user is not None:
            user.rooms[room_key] = room_name
            self.rooms.setdefault(room_key, {})[user] = None

    def leave(self, node: str, key: str, room_key: str) -> None:
        user = self.nodes.get(node, {}).get(key)
        if user is not None and user.rooms.pop(room_key, None) is not None:
            self._out_of(room_key, user)

    def _out_of(self, room_key: str, user: RemoteUser) -> None:
        members = self.rooms.get(room_key)
        if members is not None:
            members.pop(user, None)
            if not members:
                del self.rooms[room_key]

    def replace_node(self, node: str, users: Iterable[RemoteUser]) -> None:
        """What a node says it has (its snapshot) replaces what we knew of it."""
        self.drop_node(node)
        self.nodes[node] = {}
        for user in users:
            self.add(user)

    def drop_node(self, node: str) -> list[RemoteUser]:
        """A node is gone: its users leave. Returns them, with their rooms."""
        users = list(self.nodes.get(node, {}).values())
        for user in users:
            self.remove(node, user.key)
        self.nodes.pop(node, None)
        return users
