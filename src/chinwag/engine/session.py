"""Per-connection chat state, as the engine sees it, and the `Outlet` it carries for the server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chinwag.engine.identity import Identity
from chinwag.engine.ratelimit import TokenBucket

if TYPE_CHECKING:
    from chinwag.engine.replay import Replay
    from chinwag.protocol.codec import Codec


class Outlet(Protocol):
    """Where a session's bytes go: a front end's connection (TCP today; TLS, WebSocket later).

    The engine stores it on the session and never calls it; the server's fan-out resolves
    an audience to sessions and writes to their outlets.
    """

    @property
    def codec(self) -> Codec: ...

    @property
    def closed(self) -> bool: ...

    def queue(self, data: bytes, needs: int) -> None:
        """Owe the client these bytes; they leave once message `needs` is durable."""

    def close(self, reason: str) -> None:
        """Close once what is queued has been written."""

    def stream(self, replay: Replay) -> None:
        """Send this history as the client reads it, before anything queued after it."""


class Session:
    """One connected client. `identity` is None until the engine admits it (join).

    There is one per connection, so every field costs 8 bytes a connection or more; it has
    no id of its own for that reason (the peer tells connections apart in logs).
    """

    __slots__ = (
        "closed",
        "commands",
        "dialect",
        "identity",
        "messages",
        "outlet",
        "peer",
        "resume",
        "rooms",
    )

    def __init__(self, *, peer: str, dialect: str, outlet: Outlet | None = None) -> None:
        self.peer = peer
        self.dialect = dialect
        self.identity: Identity | None = None
        # A guest's resume secret, as its SHA-256 (b"": none; an account's login is its
        # proof). Whoever shows the secret may take the name back from this session.
        self.resume = b""
        # Keys of the rooms it is in, general first (Memberships has the rooms). A tuple,
        # not a dict (two keys: 56 bytes, a dict of two: 184), which sessions in the same
        # rooms share (Memberships.shared). Replaced, never mutated.
        self.rooms: tuple[str, ...] = ()
        # Rate-limit buckets, made at first use by the engine (none while a limit is off):
        # most connections idle, and two buckets are 128 bytes a connection.
        self.messages: TokenBucket | None = None
        self.commands: TokenBucket | None = None
        self.outlet = outlet
        self.closed = False  # its connection is gone (set by Engine.close_session)

    @property
    def joined(self) -> bool:
        return self.identity is not None

    @property
    def name(self) -> str | None:
        """The display name (None before joining): what renders call the viewer."""
        identity = self.identity
        return None if identity is None else identity.name

    def __repr__(self) -> str:
        return f"<Session {self.name or '-'} {self.peer} {self.dialect}>"
