"""Batches of the fan-out: encode once, hand each recipient one piece of bytes.

Server layer, no sockets: these hold notices and encoded bytes for ChatServer, which
decides when they are queued on connections (see docs/DEVELOPING.md, "Fan-out").

- A `Run` is consecutive deliveries to the same room audience (chat in a busy room):
  each member is queued the whole run once instead of once per message.
- A `PresenceLog` is the join/leave notices of one big room since its last presence
  tick: stored once, not once per member, and written to each member on the tick.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import Any

from chinwag.engine.delivery import Delivery
from chinwag.engine.session import Session
from chinwag.protocol.codec import Codec
from chinwag.protocol.events import Notice


def encode_for(codec: Codec, notices: list[Notice], start: int, cache: dict[Any, bytes]) -> bytes:
    """The bytes of notices[start:] for this codec, sharing what it allows through `cache`."""
    parts: list[bytes] = []
    for index in range(start, len(notices)):
        notice = notices[index]
        key: Hashable | None = codec.share_key(notice)
        if key is None:  # depends on this connection (and may update the codec's state)
            parts.append(codec.encode(notice))
            continue
        data = cache.get((index, key))
        if data is None:
            data = cache[(index, key)] = codec.encode(notice)
        parts.append(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class Run:
    """Deliveries to one room audience, back to back, waiting to be queued as one."""

    __slots__ = ("exclude", "needs", "notices", "to")

    def __init__(self, delivery: Delivery) -> None:
        self.to = delivery.to
        self.exclude = delivery.exclude
        self.notices: list[Notice] = [delivery.notice]
        self.needs = delivery.durable_id

    def takes(self, delivery: Delivery) -> bool:
        """Append the delivery if it has the same audience; the audience is read at the end."""
        if delivery.to is not self.to or delivery.exclude is not self.exclude:
            return False
        self.notices.append(delivery.notice)
        if delivery.durable_id > self.needs:
            self.needs = delivery.durable_id
        return True


class PresenceLog:
    """Join/leave notices of one big room, owed to its members from their cursors.

    A member's cursor is the first notice it is owed: 0 for those in the room when the
    log began, the end of the log for those who came later, and an explicit `start` for
    a joiner (after its own notice) and for members already served early.
    """

    __slots__ = ("initial", "notices", "shared", "start", "to", "whole")

    def __init__(self, to: Collection[Session]) -> None:
        self.to = to  # the room's live member dict
        self.initial = set(to)
        self.notices: list[Notice] = []
        self.start: dict[Session, int] = {}
        # Always-shared codecs: each notice's bytes, encoded once per codec class and
        # extended as the log grows; `whole` is all of them joined, for cursor 0.
        self.shared: dict[type, list[bytes]] = {}
        self.whole: dict[type, bytes] = {}

    def append(self, delivery: Delivery) -> None:
        self.notices.append(delivery.notice)
        self.whole.clear()
        if delivery.exclude is not None:  # the joiner: owed what follows its own notice
            self.start[delivery.exclude] = len(self.notices)

    def cursor(self, session: Session) -> int:
        start = self.start.get(session)
        if start is not None:
            return start
        return 0 if session in self.initial else len(self.notices)

    def owed(self, session: Session, codec: Codec, cache: dict[Any, bytes]) -> bytes:
        """What this member is owed from its cursor, in its codec; its cursor moves to the end."""
        notices = self.notices
        end = len(notices)
        cursor = self.cursor(session)
        if cursor >= end:
            return b""
        self.start[session] = end
        if not codec.always_shared:
            return encode_for(codec, notices, cursor, cache)
        cls = codec.__class__
        parts = self.shared.setdefault(cls, [])
        for index in range(len(parts), end):
            parts.append(codec.encode(notices[index]))
        if cursor:
            return b"".join(parts[cursor:])
        whole = self.whole.get(cls)
        if whole is None:
            whole = self.whole[cls] = b"".join(parts)
        return whole

    def settle(self, session: Session, cache: dict[Any, bytes]) -> bytes:
        """Before a session's membership may change: what it is owed now, and nothing older."""
        owed = b""
        if session in self.to and session.outlet is not None:
            owed = self.owed(session, session.outlet.codec, cache)
        self.start[session] = len(self.notices)
        return owed
