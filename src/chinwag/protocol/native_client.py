"""The client side of the native dialect (sans-I/O): commands out, notices in.

native.py is the server's half: it decodes commands and encodes notices. This module is
the mirror image, built from the same schema (schema.py), so a client library (or a test)
speaks the same wire without a server:

    codec.send(command)           queue the JSON line for a command
    codec.data_to_send()          the bytes to write to the socket
    codec.receive_data(bytes)     feed what the socket gave us
    codec.receive_eof()           the server closed its side
    codec.events_received()       drain the notices decoded so far

A server line this client cannot read never raises: it becomes an `UnreadableNotice`
event, so a newer or buggy server cannot crash a client. Misusing the codec locally (for
example sending a `BadInput`, which only a server-side codec produces) is our bug and
raises `LocalProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from chinwag.errors import LocalProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.framing import LineFraming, LineTooLong
from chinwag.protocol.schema import COMMANDS, NOTICES, Unreadable
from chinwag.protocol.wire import encoder, lenient_decoder

JsonObject = dict[str, Any]

# A history page or search result carries up to 500 messages on one line, so a client
# accepts far longer lines than the server does.
CLIENT_MAX_LINE = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UnreadableNotice:
    """A server line that is not a notice this client understands (the server's fault)."""

    reason: str
    line: bytes


ServerEvent = ev.Notice | UnreadableNotice


# --------------------------------------------------------------------------- encoding

_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    shape.event: encoder(shape, checks=True) for shape in COMMANDS
}


def encode_command(command: ev.Command) -> bytes:
    """A command in its native wire form (what native.decode_command reads back)."""
    encode = _ENCODERS.get(command.__class__)
    if encode is None:
        raise LocalProtocolError(f"{type(command).__name__} is not something a client sends")
    return encode(command)


# --------------------------------------------------------------------------- decoding

_DECODERS: dict[str, Callable[[JsonObject], ev.Notice]] = {
    shape.name: lenient_decoder(shape) for shape in NOTICES if shape.name is not None
}


def decode_notice(line: bytes) -> ServerEvent:
    """One server line -> one notice; anything unreadable becomes an UnreadableNotice."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return UnreadableNotice("not valid JSON", line)
    if not isinstance(obj, dict):
        return UnreadableNotice("not a JSON object", line)
    kind = obj.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        return UnreadableNotice(f"unknown notice type {kind!r}"[:80], line)
    try:
        return decoder(obj)
    except Unreadable as exc:
        return UnreadableNotice(f"{kind}: {exc}", line)


# --------------------------------------------------------------------------- the codec


class NativeClientCodec:
    """One client connection's translator; holds no socket, so it is tested without one."""

    __slots__ = ("_decoded", "_framing", "_outgoing", "eof")

    def __init__(self, *, max_line: int = CLIENT_MAX_LINE) -> None:
        self._framing = LineFraming(max_line)
        self._outgoing = bytearray()
        self._decoded: list[ServerEvent] = []
        self.eof = False

    @property
    def max_line(self) -> int:
        return self._framing.max_line

    def send(self, command: ev.Command) -> None:
        """Queue a command; the bytes wait in data_to_send()."""
        if self.eof:
            raise LocalProtocolError("the connection is closed")
        self._outgoing += encode_command(command)

    def data_to_send(self) -> bytes:
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def receive_data(self, data: bytes) -> None:
        for item in self._framing.feed(data):
            self._receive(item)

    def receive_eof(self) -> None:
        self.eof = True
        last = self._framing.finish()
        if last is not None:
            self._receive(last)

    def events_received(self) -> list[ServerEvent]:
        """Drain the notices decoded so far."""
        events, self._decoded = self._decoded, []
        return events

    def _receive(self, item: bytes | LineTooLong) -> None:
        if isinstance(item, LineTooLong):
            self._decoded.append(UnreadableNotice(f"line too long ({item.size} bytes)", b""))
        elif item.strip():
            self._decoded.append(decode_notice(item))
