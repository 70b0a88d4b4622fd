"""Rules for user and room names."""

from __future__ import annotations

import re

NAME_MAX = 32
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,32}")
_ROOM = re.compile(r"#?([A-Za-z0-9_\-]{1,32})")

NAME_RULE = "Usernames are 1-32 characters: letters, digits, '_', '-' and '.'"
ROOM_RULE = "Room names are 1-32 characters: letters, digits, '_' and '-'"


def valid_username(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def user_key(name: str) -> str:
    """Names are unique case-insensitively: 'Alice' and 'alice' are one user."""
    return name.casefold()


def normalize_room(name: str) -> str | None:
    """The display name of a room ('#dev' -> 'dev'), or None if it is not a valid name."""
    match = _ROOM.fullmatch(name.strip())
    return match.group(1) if match else None


def room_key(name: str) -> str:
    return name.casefold()
