"""Per-connection chat state, as the engine sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chinwag.engine.ratelimit import TokenBucket

if TYPE_CHECKING:
    from chinwag.engine.room import Room


class Session:
    """One connected client. `outlet` belongs to the server layer; the engine never uses it."""

    __slots__ = (
        "commands",
        "dialect",
        "id",
        "key",
        "messages",
        "outlet",
        "peer",
        "rooms",
        "username",
    )

    def __init__(
        self,
        session_id: int,
        *,
        peer: str,
        dialect: str,
        messages: TokenBucket,
        commands: TokenBucket,
        outlet: Any = None,
    ) -> None:
        self.id = session_id
        self.peer = peer
        self.dialect = dialect
        self.username: str | None = None
        self.key: str | None = None
        self.rooms: dict[str, Room] = {}
        self.messages = messages
        self.commands = commands
        self.outlet = outlet

    @property
    def joined(self) -> bool:
        return self.username is not None

    def __repr__(self) -> str:
        return f"<Session {self.id} {self.username or '-'} {self.peer} {self.dialect}>"
