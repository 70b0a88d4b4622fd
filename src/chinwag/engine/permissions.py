"""Who may run a command: the permission column of the engine's command table.

Checked once, before the handler runs, for every front end; a handler never repeats it.
`ROOM_OPERATOR` is judged in the room the command names (its `room` field): a server
moderator or admin counts as an operator everywhere.
"""

from __future__ import annotations

from enum import IntEnum

from chinwag.engine.identity import Role
from chinwag.engine.memberships import Memberships, RoomRole
from chinwag.engine.session import Session
from chinwag.protocol.events import ErrorCode


class Permission(IntEnum):
    ANYONE = 0  # before joining too (ping, quit, lists)
    GUEST = 1  # any joined session
    MEMBER = 2  # a session signed in to an account
    ROOM_OPERATOR = 3  # an operator (or owner) of the command's room
    MODERATOR = 4
    ADMIN = 5


NOT_JOINED = "Join first with a username"
OPERATORS = (RoomRole.OPERATOR, RoomRole.OWNER)


def refusal(
    permission: Permission, session: Session, command: object, memberships: Memberships
) -> tuple[ErrorCode, str] | None:
    """Why the session may not run the command, or None when it may."""
    if permission is Permission.ANYONE:
        return None
    identity = session.identity
    if identity is None:
        return ErrorCode.NOT_JOINED, NOT_JOINED
    if permission is Permission.GUEST:
        return None
    if permission is Permission.MEMBER:
        if identity.account is None:
            return ErrorCode.FORBIDDEN, "Only signed-in accounts may do that"
        return None
    if permission is Permission.ROOM_OPERATOR:
        if identity.at_least(Role.MODERATOR):
            return None
        room = memberships.find(str(getattr(command, "room", "")))
        if room is not None and memberships.room_role(session, room) in OPERATORS:
            return None
        return ErrorCode.FORBIDDEN, "Only the room's operators may do that"
    needed = Role.MODERATOR if permission is Permission.MODERATOR else Role.ADMIN
    if identity.at_least(needed):
        return None
    return ErrorCode.FORBIDDEN, f"Only {needed.value}s may do that"
