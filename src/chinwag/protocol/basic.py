"""The basic dialect (seed 003): `{"username": ..., "message": ...}` lines, both ways.

The first line names the client; if its message is not empty it is also said in the room.
Later lines only need `message`: the server already knows who is talking, so a different
`username` is ignored rather than trusted. Server notices come from the reserved name
`[server]` (brackets are not allowed in usernames, so nobody can pose as it). A sender does
not get its own message back: the seed's clients show what they typed themselves.
"""

from __future__ import annotations

from typing import Any

import orjson

from chinwag.protocol import events as ev
from chinwag.protocol.common import NAME_ERRORS, EchoFreeCodec, describe, load_object, text_field
from chinwag.protocol.events import ErrorCode

SERVER_NAME = "[server]"


def _line(username: str, message: str, **extra: Any) -> bytes:
    return orjson.dumps({"username": username, "message": message, **extra}) + b"\n"


def _system(message: str, **extra: Any) -> bytes:
    return _line(SERVER_NAME, message, **extra)


def _stored(notice: ev.StoredNotice) -> bytes:
    if isinstance(notice, ev.ChatMessage):
        if notice.room != ev.DEFAULT_ROOM:
            return _line(notice.username, notice.message, room=notice.room)
        return _line(notice.username, notice.message)
    if isinstance(notice, ev.PrivateMessage):
        text = f"(private) {notice.message}"
        return _line(notice.username, text, private=True, target=notice.target)
    return _system(f"{notice.username} set the topic of {notice.room} to: {notice.topic}")


class BasicCodec(EchoFreeCodec):
    """Seed 003's two-field JSON objects."""

    dialect = "basic"
    __slots__ = ("_naming",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._naming = True  # the next line names the client

    # ------------------------------------------------------------------ decoding

    def _receive_line(self, line: bytes) -> None:
        if not line.strip():
            return
        obj = load_object(line)
        if isinstance(obj, ev.BadInput):
            self._emit(obj)
            return
        if self._naming:
            message: object = "" if obj.get("message") is None else obj["message"]
        else:
            message = text_field(obj, "message")
        if isinstance(message, ev.BadInput):
            self._emit(message)
            return
        if not isinstance(message, str):
            self._bad(ErrorCode.INVALID_FIELD, "Field 'message' must be a string")
            return
        if self._naming:
            username = text_field(obj, "username")
            if isinstance(username, ev.BadInput):
                self._emit(username)
                return
            self._naming = False
            self._emit(ev.Join(username))
            if not message.strip():
                return
        self._emit(ev.Chat(message))

    # ------------------------------------------------------------------ encoding

    def encode(self, notice: ev.Notice) -> bytes:
        match notice:
            case ev.ChatMessage():
                return b"" if self._is_own_echo(notice) else _stored(notice)
            case ev.PrivateMessage():
                if notice.username == self.username and notice.target != self.username:
                    text = f"(private to {notice.target}) {notice.message}"
                    return _line(notice.username, text, private=True, target=notice.target)
                return _stored(notice)
            case ev.TopicChanged():
                return _stored(notice)
            case ev.Welcome():
                self.username = notice.username
                self._naming = False
                online = ", ".join(notice.users)
                return _system(f"{notice.message} Online: {online}")
            case ev.Error():
                if notice.code in NAME_ERRORS and self.username is None:
                    self._naming = True
                return _system(notice.message, error=str(notice.code))
            case ev.UserRenamed():
                if notice.old == self.username:
                    self.username = notice.new
                return _system(f"{notice.old} is now known as {notice.new}")
            case ev.HistoryPage() | ev.SearchResults():
                return b"".join(_stored(m) for m in notice.messages)
            case ev.KeepAlive():
                return b""  # the dialect has no way to answer; TCP keep-alive covers it
        return _system(describe(notice))
