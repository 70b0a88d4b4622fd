"""Presence logs: the join/leave notices of one big room, stored once, written on a tick.

Server layer, no sockets (see docs/DEVELOPING.md, "Fan-out"). Without them, 5,000 users
joining one room cost every member one queue call per join; with them, one entry per join
and one write per member per tick.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import Any

from chinwag.engine.session import Session
from chinwag.protocol.codec import Codec
from chinwag.protocol.events import Notice
from chinwag.server.render import render_for


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
        # Codecs that render the same for everyone: each notice's bytes, rendered once per
        # codec class and extended as the log grows; `whole` is all of them, for cursor 0.
        # (A personal codec may share them too, under its `presence_key`.)
        self.shared: dict[Hashable, list[bytes]] = {}
        self.whole: dict[Hashable, bytes] = {}

    def append(self, notice: Notice, joiner: Session | None) -> None:
        self.notices.append(notice)
        self.whole.clear()
        if joiner is not None:  # owed what follows its own notice
            self.start[joiner] = len(self.notices)

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
        key: Hashable | None = codec.__class__
        viewer = None
        if codec.personal:
            viewer = session.name
            key = codec.presence_key(viewer)
            if key is None:
                return render_for(codec, notices, cursor, viewer, cache)
        parts = self.shared.setdefault(key, [])
        for index in range(len(parts), end):
            parts.append(codec.render(notices[index], viewer))
        if cursor:
            return b"".join(parts[cursor:])
        whole = self.whole.get(key)
        if whole is None:
            whole = self.whole[key] = b"".join(parts)
        return whole

    def settle(self, session: Session, cache: dict[Any, bytes]) -> bytes:
        """Before a session's membership may change: what it is owed now, and nothing older."""
        owed = b""
        if session in self.to and session.outlet is not None:
            owed = self.owed(session, session.outlet.codec, cache)
        self.start[session] = len(self.notices)
        return owed
