"""A room: its members online (on this node) and the tail of its history kept in memory."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from chinwag.bus.base import ToRoom
from chinwag.protocol.events import StoredNotice

if TYPE_CHECKING:
    from chinwag.engine.session import Session


class Room:
    __slots__ = (
        "accounts",
        "audience",
        "invited",
        "keepers",
        "key",
        "members",
        "modes",
        "name",
        "recent",
        "roles",
        "topic",
        "topic_at",
        "topic_by",
        "used",
    )

    def __init__(
        self, name: str, topic: str = "", recent_size: int = 50, *, used: bool = False
    ) -> None:
        self.name = name
        self.key = name.casefold()
        self.topic = topic
        self.topic_by = ""  # who set the topic, and when (IRC's 333); "" and 0.0: unknown
        self.topic_at = 0.0
        # A room nobody ever said anything in, that no account keeps, is removed when its
        # last member leaves (Memberships): rooms made in a flood do not pile up.
        self.used = used
        self.keepers = 0  # accounts that keep it (saved rooms)
        self.audience = ToRoom(self.key)  # made once: every message to the room carries it
        # Member -> its display name. A dict keeps join order and gives O(1) removal; the
        # names are there for `usernames`, which every join's welcome calls (O(members)).
        # Only Memberships changes it (see engine/facts.py).
        self.members: dict[Session, str] = {}
        # The members signed in to an account (the others are guests), kept beside
        # `members` so that a welcome can say who is who without a pass over the room.
        self.accounts: dict[Session, str] = {}
        # The newest messages, for the replay on join without a store read.
        self.recent: deque[StoredNotice] = deque(maxlen=recent_size)
        # Moderation (engine/moderation.py): account key -> room role above member (owner,
        # operator, voice); the modes set (invite_only, moderated, topic_locked); who is
        # invited (account keys; `name:<key>` for a guest, for its session only).
        self.roles: dict[str, str] = {}
        self.modes: frozenset[str] = frozenset()
        self.invited: set[str] = set()

    def usernames(self) -> tuple[str, ...]:
        return tuple(self.members.values())

    def account_names(self) -> tuple[str, ...]:
        return tuple(self.accounts.values()) if self.accounts else ()
