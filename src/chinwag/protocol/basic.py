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
from chinwag.protocol.common import NamingCodec, load_object, shown, text_field
from chinwag.protocol.events import ErrorCode

SERVER_NAME = "[server]"


def _line(username: str, message: str, **extra: Any) -> bytes:
    return orjson.dumps(shown({"username": username, "message": message, **extra})) + b"\n"


def _system(message: str, **extra: Any) -> bytes:
    return _line(SERVER_NAME, message, **extra)


def _welcome(notice: ev.Welcome, viewer: str | None) -> bytes:
    return _system(f"{notice.message} Online: {', '.join(notice.users)}")


def _error(notice: ev.Error, viewer: str | None) -> bytes:
    return _system(notice.message, error=str(notice.code))


class BasicCodec(NamingCodec):
    """Seed 003's two-field JSON objects."""

    dialect = "basic"
    specials = {ev.Welcome: _welcome, ev.Error: _error}
    __slots__ = ()

    # ------------------------------------------------------------------ decoding

    def receive_message(self, message: bytes) -> None:
        if not message.strip():
            return
        obj = load_object(message)
        if isinstance(obj, ev.BadInput):
            self._emit(obj)
            return
        naming = self.naming
        if naming:
            text: object = "" if obj.get("message") is None else obj["message"]
        else:
            text = text_field(obj, "message")
        if isinstance(text, ev.BadInput):
            self._emit(text)
            return
        if not isinstance(text, str):
            self._bad(ErrorCode.INVALID_FIELD, "Field 'message' must be a string")
            return
        if naming:
            username = text_field(obj, "username")
            if isinstance(username, ev.BadInput):
                self._emit(username)
                return
            self._join(username)
            if not text.strip():
                return
        self._emit(ev.Chat(text))

    # ------------------------------------------------------------------ the style

    def chat_line(self, notice: ev.ChatMessage) -> bytes:
        if notice.room != ev.DEFAULT_ROOM:
            return _line(notice.username, notice.message, room=notice.room)
        return _line(notice.username, notice.message)

    def private_in(self, notice: ev.PrivateMessage) -> bytes:
        text = f"(private) {notice.message}"
        return _line(notice.username, text, private=True, target=notice.target)

    def private_out(self, notice: ev.PrivateMessage) -> bytes:
        text = f"(private to {notice.target}) {notice.message}"
        return _line(notice.username, text, private=True, target=notice.target)

    def system_line(self, notice: ev.Notice, text: str) -> bytes:
        return _system(text)
