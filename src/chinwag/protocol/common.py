"""What the seed-dialect codecs share: JSON-object lines, plain sentences for notices that a
dialect has no shape of its own for, and one table-driven renderer.

The four seed dialects (typed, basic, pipe, plain) render notices in the same shape; only
the style differs. `SeedCodec.render` holds the shape once (a sender is not sent its own
live message back: its user already sees what was typed; history pages are others'
messages; a keep-alive is nothing); each dialect gives its style (chat line, private in and
out, own echo, system line) and a small table of the notices it renders its own way.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import orjson

from chinwag.protocol import events as ev
from chinwag.protocol.codec import Codec
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.sentences import describe_audit, describe_deleted, describe_moderation
from chinwag.protocol.text import continued

# Errors that leave a client unnamed: its next line may try another name (a guest cannot
# have a name that belongs to an account).
NAME_ERRORS = frozenset({ErrorCode.NAME_TAKEN, ErrorCode.INVALID_NAME, ErrorCode.NAME_REGISTERED})

JsonObject = dict[str, Any]

# A dialect's own rendering of one notice type: (notice, viewer) -> bytes.
Special = Callable[[Any, str | None], bytes]


def load_object(line: bytes) -> JsonObject | ev.BadInput:
    """One line as a JSON object, or the BadInput that explains why it is not one."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return ev.BadInput(ErrorCode.BAD_UTF8, "Line is not valid UTF-8")
        return ev.BadInput(ErrorCode.BAD_JSON, "Line is not valid JSON")
    if not isinstance(obj, dict):
        return ev.BadInput(ErrorCode.NOT_OBJECT, "Line must be a JSON object")
    return obj


def text_field(obj: JsonObject, key: str) -> str | ev.BadInput:
    """A required string field, or the BadInput that names what is wrong with it."""
    value = obj.get(key)
    if value is None:
        return ev.BadInput(ErrorCode.MISSING_FIELD, f"Missing field '{key}'")
    if not isinstance(value, str):
        return ev.BadInput(ErrorCode.INVALID_FIELD, f"Field '{key}' must be a string")
    return value


def shown(obj: JsonObject) -> JsonObject:
    """A JSON dialect's object as its client will print it: every text (and list of
    texts) with its controls escaped and its lines after the first marked as continuation
    lines (text.CONTINUATION). The seed clients print these fields to a terminal."""
    out: JsonObject = {}
    for key, value in obj.items():
        if isinstance(value, str):
            value = continued(value)
        elif isinstance(value, list):
            value = [continued(v) if isinstance(v, str) else v for v in value]
        out[key] = value
    return out


def file_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


def describe(notice: ev.Notice) -> str:
    """One human sentence for a notice a dialect has no shape of its own for."""
    match notice:
        case ev.UserJoined():
            where = "" if notice.room == ev.DEFAULT_ROOM else f" ({notice.room})"
            return f"{notice.username} joined the chat{where}"
        case ev.UserLeft():
            where = "" if notice.room == ev.DEFAULT_ROOM else f" ({notice.room})"
            return f"{notice.username} left the chat{where}"
        case ev.UserRenamed():
            return f"{notice.old} is now known as {notice.new}"
        case ev.UserList():
            where = "online" if notice.room is None else f"in {notice.room}"
            away = "".join(f"; {a.username} is away: {a.message}" for a in notice.away)
            return f"Users {where}: {', '.join(notice.users)}{away}"
        case ev.UserAway(message=""):
            return f"{notice.username} is back"
        case ev.UserAway():
            return f"{notice.username} is away: {notice.message}"
        case ev.WhoWasReply(seen=()):
            return f"Nobody called {notice.username} signed off lately"
        case ev.WhoWasReply():
            when = ", ".join(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(s.timestamp))
                             for s in notice.seen)  # fmt: skip
            return f"{notice.username} signed off at {when}"
        case ev.RoomList():
            return "Rooms: " + ", ".join(f"{r.room} ({r.users})" for r in notice.rooms)
        case ev.RoomJoined():
            topic = f" - topic: {notice.topic}" if notice.topic else ""
            return f"You are in room {notice.room}{topic}"
        case ev.RoomLeft():
            return f"You left room {notice.room}"
        case ev.TopicChanged():
            return f"{notice.username} set the topic of {notice.room} to: {notice.topic}"
        case ev.FileShared(deleted=True):
            return f"(a file {notice.username} shared was deleted)"
        case ev.FileShared():
            where = "" if notice.room == ev.DEFAULT_ROOM else f" in {notice.room}"
            return (
                f"{notice.username} shared a file{where}: {notice.name}"
                f" ({file_size(notice.size)}) {notice.url}"
            )
        case ev.Welcome():
            return notice.message
        case ev.PongReply():
            return "Pong"
        case ev.Error() | ev.Goodbye() | ev.Done():
            return notice.message
        case ev.HistoryPage() | ev.SearchResults():
            return f"{len(notice.messages)} messages from {notice.room}"
        case ev.ChatMessage() | ev.PrivateMessage():
            return f"{notice.username}: {notice.message}"
        case ev.KeepAlive():
            return "Ping"
        case ev.Moderated():
            return describe_moderation(notice)
        case ev.Deleted():
            return describe_deleted(notice)
        case ev.Announcement():
            return f"Announcement from {notice.username}: {notice.message}"
        case ev.AuditLog():
            return describe_audit(notice)
    raise AssertionError(f"unhandled notice {notice!r}")  # pragma: no cover


def _shown(notice: ev.ChatMessage) -> ev.ChatMessage:
    """A deleted message's tombstone reads as such in the text dialects."""
    return replace(notice, message="(message deleted)") if notice.deleted else notice


class SeedCodec(Codec):
    """The render shape every seed dialect shares; a dialect supplies its style."""

    personal = True
    # What the sender of a live chat message gets instead of its own message.
    own_echo: ClassVar[bytes] = b""
    # Notice type -> the dialect's own rendering, for the notices it does not render in the
    # shared shape (welcome, user list, pong, error, own rename...).
    specials: ClassVar[Mapping[type, Special]] = {}

    __slots__ = ()

    @abstractmethod
    def chat_line(self, notice: ev.ChatMessage) -> bytes:
        """Someone's message to a room, as others see it."""

    @abstractmethod
    def private_in(self, notice: ev.PrivateMessage) -> bytes:
        """A private message, as its target sees it."""

    @abstractmethod
    def private_out(self, notice: ev.PrivateMessage) -> bytes:
        """A private message, as its sender sees it (the confirmation)."""

    @abstractmethod
    def system_line(self, notice: ev.Notice, text: str) -> bytes:
        """A line the server says itself, about this notice."""

    def render(self, notice: ev.Notice, viewer: str | None) -> bytes:
        if isinstance(notice, ev.ChatMessage):
            if notice.username == viewer and not notice.history:
                return self.own_echo
            return self.chat_line(_shown(notice))
        special = self.specials.get(type(notice))
        if special is not None:
            return special(notice, viewer)
        if isinstance(notice, ev.PrivateMessage):
            if notice.username == viewer and notice.target != viewer:
                return self.private_out(notice)
            return self.private_in(notice)
        if isinstance(notice, ev.HistoryPage | ev.SearchResults):
            return b"".join(self._stored(m) for m in notice.messages)
        if isinstance(notice, ev.KeepAlive):
            return b""  # the seeds have no ping; TCP keep-alive finds dead peers
        return self.system_line(notice, describe(notice))

    def _stored(self, notice: ev.StoredNotice) -> bytes:
        """A stored message in a history page: always someone else's, as it was said."""
        if isinstance(notice, ev.ChatMessage):
            return self.chat_line(_shown(notice))
        if isinstance(notice, ev.PrivateMessage):
            return self.private_in(notice)
        return self.system_line(notice, describe(notice))


_NAMING, _ASKED, _JOINED = 0, 1, 2


class NamingCodec(SeedCodec):
    """A seed dialect whose next line names the client until the server welcomes it
    (typed, basic): a refused name before the welcome lets the next line try again."""

    __slots__ = ("_stage",)

    def __init__(self) -> None:
        super().__init__()
        self._stage = _NAMING  # one small int, not two flags: memory per connection

    @property
    def naming(self) -> bool:
        """True while the next line names the client."""
        return self._stage == _NAMING

    def _join(self, username: str) -> None:
        self._stage = _ASKED
        self._emit(ev.Join(username))

    def observe(self, notice: ev.Notice) -> None:
        if isinstance(notice, ev.Welcome):
            self._stage = _JOINED
        elif isinstance(notice, ev.Error) and notice.code in NAME_ERRORS and self._stage == _ASKED:
            self._stage = _NAMING
