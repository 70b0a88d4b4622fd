"""The surface every dialect codec offers (sans-I/O, after h11 and websockets).

    codec.receive_data(bytes)     feed what the socket gave us
    codec.receive_eof()           the peer closed its side
    codec.events_received()       drain the commands decoded so far
    codec.encode(notice)          the bytes that tell this client about a notice
    codec.share_key(notice)       may these bytes be shared with other connections?

Decoding never raises on remote input: a line that cannot be accepted becomes a
`BadInput` command, which the engine answers with an error in the client's own dialect.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Hashable
from typing import ClassVar

from chinwag.protocol.events import BadInput, Command, ErrorCode, Notice
from chinwag.protocol.framing import DEFAULT_MAX_LINE, LineReceiver, LineTooLong


class Codec(LineReceiver[Command]):
    """One connection's translator between its wire dialect and chinwag events."""

    dialect: ClassVar[str]
    # True when encode() never depends on the connection: every client of this dialect gets
    # the same bytes for a notice, and the fan-out may skip share_key() for it.
    always_shared: ClassVar[bool] = False

    __slots__ = ("username",)

    def __init__(self, *, max_line: int = DEFAULT_MAX_LINE) -> None:
        super().__init__(max_line)
        # The name the server gave this connection, learnt from the notices it encodes.
        self.username: str | None = None

    def buffered(self) -> int:
        """Bytes held for an unfinished line (bounded by max_line)."""
        return self.pending()

    def greeting(self) -> bytes:
        """Bytes to send unasked when a connection opens (most dialects: none)."""
        return b""

    def share_key(self, notice: Notice) -> Hashable | None:
        """A key under which encode(notice) can be reused for other connections.

        None means the bytes depend on this connection (its own name, say) and must be
        encoded for it alone; encode() may then also update this codec's state.
        """
        return type(self)

    def _receive_item(self, item: bytes | LineTooLong) -> None:
        if isinstance(item, LineTooLong):
            self._events.append(
                BadInput(
                    ErrorCode.LINE_TOO_LONG,
                    f"Line too long ({item.size} bytes; the limit is {self.max_line})",
                )
            )
            return
        self._receive_line(item)

    @abstractmethod
    def _receive_line(self, line: bytes) -> None:
        """Decode one complete line into zero or more commands (append to _events)."""

    @abstractmethod
    def encode(self, notice: Notice) -> bytes:
        """The bytes (whole lines, terminated) that carry this notice to the client."""

    def _emit(self, event: Command) -> None:
        self._events.append(event)

    def _bad(self, code: ErrorCode, message: str) -> None:
        self._events.append(BadInput(code, message))
