"""Who a session is: set by the engine when a session joins, never claimed by a client.

A guest has only the name it asked for: it proves nothing, so nothing kept for an earlier
holder of that name (saved rooms, private messages) is ever given to it. An account is
proven (the accounts work adds the proofs: password, token); what is kept per user is keyed
by `account`, never by a name someone typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Server roles, lowest first (see `RANK`)."""

    GUEST = "guest"
    MEMBER = "member"  # has an account
    MODERATOR = "moderator"
    ADMIN = "admin"


RANK = {Role.GUEST: 0, Role.MEMBER: 1, Role.MODERATOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Identity:
    name: str  # the display name, unique among those online (case-insensitively)
    key: str  # the name case-folded: what "unique" compares
    account: str | None = None  # the proven account's key; None for a guest
    role: Role = Role.GUEST

    @property
    def guest(self) -> bool:
        return self.account is None

    def at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]

    def renamed(self, name: str, key: str) -> Identity:
        return Identity(name, key, self.account, self.role)


def guest(name: str, key: str) -> Identity:
    return Identity(name, key)
