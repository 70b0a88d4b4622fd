"""Envelopes as bytes, for buses that leave the process.

A frame is two lines: a small header (the audience, the id, the room's previous id, the
close reason), then the notice in its native wire encoding, the same bytes a native client
is sent (`native.py` writes it, `native_client.py` reads it back: the schema's round trip
is tested for every notice). Only what means something on another node travels:

- `ToSession` never leaves its node, so it has no frame (nor has a `Replay`, which is only
  ever for one session);
- `exclude` names a session of the publishing node, so other nodes have nothing to leave
  out: it is dropped (the publishing node delivers its own copy, with it, locally).
"""

from __future__ import annotations

import orjson

from chinwag.bus.base import Audience, Envelope, ToRoom, ToRooms, ToUser
from chinwag.protocol.native import encode_notice
from chinwag.protocol.native_client import UnreadableNotice, decode_notice


class BadFrame(ValueError):
    """Bytes from the bus that are not a frame of this version (logged, dropped)."""


def encode_frame(envelope: Envelope) -> bytes:
    """An envelope to a room, rooms or user -> its frame."""
    audience = envelope.audience
    kind = type(audience)
    header: dict[str, object]
    if kind is ToRoom:
        header = {"to": "room", "key": audience.key}  # type: ignore[union-attr]
    elif kind is ToUser:
        header = {"to": "user", "key": audience.key}  # type: ignore[union-attr]
    elif kind is ToRooms:
        header = {"to": "rooms", "keys": audience.keys}  # type: ignore[union-attr]
    else:
        raise TypeError(f"{kind.__name__} never leaves its node")
    if envelope.id:
        header["id"] = envelope.id
    if envelope.prev:
        header["prev"] = envelope.prev
    if envelope.close is not None:
        header["close"] = envelope.close
    return orjson.dumps(header) + b"\n" + encode_notice(envelope.notice)  # type: ignore[arg-type]


def _audience(header: dict[str, object]) -> Audience:
    to = header.get("to")
    if to == "room" or to == "user":
        key = header.get("key")
        if isinstance(key, str):
            return ToRoom(key) if to == "room" else ToUser(key)
    elif to == "rooms":
        keys = header.get("keys")
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            return ToRooms(tuple(keys))
    raise BadFrame(f"no audience in {header!r:.80}")


def decode_frame(data: bytes) -> Envelope:
    """A frame -> the envelope another node's fan-out receives; raises BadFrame."""
    head, newline, body = data.partition(b"\n")
    if not newline:
        raise BadFrame("no notice")
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise BadFrame(f"header: {exc}") from None
    if not isinstance(header, dict):
        raise BadFrame("header is not an object")
    audience = _audience(header)
    id_ = header.get("id", 0)
    prev = header.get("prev", 0)
    close = header.get("close")
    if type(id_) is not int or id_ < 0 or not (close is None or isinstance(close, str)):
        raise BadFrame(f"bad id or close in {header!r:.80}")
    if type(prev) is not int or not 0 <= prev < max(id_, 1):
        raise BadFrame(f"bad prev in {header!r:.80}")
    notice = decode_notice(body.rstrip(b"\n"))
    if isinstance(notice, UnreadableNotice):
        raise BadFrame(notice.reason)
    return Envelope(audience, notice, id_, None, close, prev)
