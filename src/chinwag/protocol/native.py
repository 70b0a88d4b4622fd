"""The native dialect, server side: one JSON object per line, a superset of seed 004's.

The wire contract is docs/protocol.md; its messages are declared once in schema.py, and
this module is the server's half: commands in (strict), notices out. native_client.py is
the client's half of the same schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chinwag.errors import RemoteProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.codec import Codec
from chinwag.protocol.common import JsonObject, load_object
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.schema import COMMANDS, NOTICES
from chinwag.protocol.wire import encoder, strict_decoder

_DECODERS: dict[str, Callable[[JsonObject], ev.Command]] = {
    shape.name: strict_decoder(shape) for shape in COMMANDS if shape.name is not None
}
_ENCODERS: dict[type, Callable[[Any], bytes]] = {shape.event: encoder(shape) for shape in NOTICES}


def decode_command(line: bytes) -> ev.Command:
    """One native line -> one command; bad input becomes a BadInput, never an exception."""
    obj = load_object(line)
    if isinstance(obj, ev.BadInput):
        return obj
    kind = obj.get("type")
    if kind is None:
        return ev.BadInput(ErrorCode.MISSING_FIELD, "Missing field 'type'")
    if not isinstance(kind, str):
        return ev.BadInput(ErrorCode.INVALID_FIELD, "Field 'type' must be a string")
    decode = _DECODERS.get(kind)
    if decode is None:
        shown = kind if len(kind) <= 40 else kind[:40] + "..."
        return ev.BadInput(ErrorCode.UNKNOWN_TYPE, f"Unknown message type '{shown}'")
    try:
        return decode(obj)
    except RemoteProtocolError as exc:
        return ev.BadInput(ErrorCode(exc.code), exc.message)


def encode_notice(notice: ev.Notice) -> bytes:
    """One notice -> its JSON line (the same bytes for every native client)."""
    return _ENCODERS[notice.__class__](notice)


class NativeCodec(Codec):
    """JSON lines: `{"type": ...}` objects both ways."""

    dialect = "native"
    __slots__ = ()

    def receive_message(self, message: bytes) -> None:
        if not message or message.isspace():
            return  # blank lines are keep-alives some clients send; ignore them
        self._emit(decode_command(message))

    def render(self, notice: ev.Notice, viewer: str | None) -> bytes:
        return _ENCODERS[notice.__class__](notice)
