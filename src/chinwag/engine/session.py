"""Per-connection chat state, as the engine sees it."""

from __future__ import annotations

from typing import Any

from chinwag.engine.ratelimit import TokenBucket


class Session:
    """One connected client. `outlet` belongs to the server layer; the engine never uses it.

    There is one per connection, so every field costs 8 bytes a connection or more; it has
    no id of its own for that reason (the peer tells connections apart in logs).
    """

    __slots__ = (
        "commands",
        "dialect",
        "key",
        "messages",
        "outlet",
        "peer",
        "rooms",
        "username",
    )

    def __init__(self, *, peer: str, dialect: str, outlet: Any = None) -> None:
        self.peer = peer
        self.dialect = dialect
        self.username: str | None = None
        self.key: str | None = None
        # Keys of the rooms it is in, general first (Engine.rooms has the rooms). A tuple,
        # not a dict (two keys: 56 bytes, a dict of two: 184), which sessions in the same
        # rooms share (RoomCommands._shared). Replaced, never mutated.
        self.rooms: tuple[str, ...] = ()
        # Rate-limit buckets, made at first use by the engine (none while a limit is off):
        # most connections idle, and two buckets are 128 bytes a connection.
        self.messages: TokenBucket | None = None
        self.commands: TokenBucket | None = None
        self.outlet = outlet

    @property
    def joined(self) -> bool:
        return self.username is not None

    def __repr__(self) -> str:
        return f"<Session {self.username or '-'} {self.peer} {self.dialect}>"
