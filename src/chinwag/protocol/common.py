"""What the seed-dialect codecs share: JSON-object lines, plain sentences for notices that a
dialect has no shape of its own for, and the rule that a seed client is not sent its own
message back (its user already sees what was typed)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import orjson

from chinwag.protocol import events as ev
from chinwag.protocol.codec import Codec
from chinwag.protocol.events import ErrorCode

# Errors that leave a client unnamed: its next line may try another name.
NAME_ERRORS = frozenset({ErrorCode.NAME_TAKEN, ErrorCode.INVALID_NAME})

JsonObject = dict[str, Any]


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


def flat(text: str) -> str:
    """Text made safe for one line: a line break inside it would forge another line."""
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


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
            return f"Users {where}: {', '.join(notice.users)}"
        case ev.RoomList():
            return "Rooms: " + ", ".join(f"{r.room} ({r.users})" for r in notice.rooms)
        case ev.RoomJoined():
            topic = f" - topic: {notice.topic}" if notice.topic else ""
            return f"You are in room {notice.room}{topic}"
        case ev.RoomLeft():
            return f"You left room {notice.room}"
        case ev.TopicChanged():
            return f"{notice.username} set the topic of {notice.room} to: {notice.topic}"
        case ev.Welcome():
            return notice.message
        case ev.PongReply():
            return "Pong"
        case ev.Error() | ev.Goodbye():
            return notice.message
        case ev.HistoryPage() | ev.SearchResults():
            return f"{len(notice.messages)} messages from {notice.room}"
        case ev.ChatMessage() | ev.PrivateMessage():
            return f"{notice.username}: {notice.message}"
        case ev.KeepAlive():
            return "Ping"
    raise AssertionError(f"unhandled notice {notice!r}")  # pragma: no cover


class EchoFreeCodec(Codec):
    """A codec whose client is not sent its own live messages back."""

    __slots__ = ()

    def _is_own_echo(self, notice: ev.ChatMessage) -> bool:
        return not notice.history and notice.username == self.username

    def share_key(self, notice: ev.Notice) -> Hashable | None:
        # Bytes that depend on who this client is are encoded for it alone.
        if isinstance(notice, ev.Welcome | ev.Error | ev.PrivateMessage):
            return None
        if isinstance(notice, ev.ChatMessage) and self._is_own_echo(notice):
            return None
        if isinstance(notice, ev.UserRenamed) and notice.old == self.username:
            return None
        return type(self)
