"""The typed dialect (seed 000): JSON objects whose `type` is message, private or list_users.

Seed 000 does not say how a client names itself, so its first line is the username, bare
(a JSON object with a `username` is accepted too). If the name is refused, the next bare
line tries again. Timestamps are `HH:MM:SS` in the server's local time, as the seed shows.
A sender does not get its own broadcast back: the seed's clients show what they typed.
Everything the seed has no type for (joins, errors, goodbyes) is a `system` message.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from chinwag.protocol import events as ev
from chinwag.protocol.common import NamingCodec, describe, load_object, shown, text_field
from chinwag.protocol.events import ErrorCode

_NOT_JOINED = "Send your username as a line of its own first"


def clock(timestamp: float) -> str:
    """Unix seconds as the seed's `HH:MM:SS`, in the server's local time."""
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def _dump(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(shown(obj)) + b"\n"


def _system(message: str, timestamp: float | None = None, **extra: Any) -> bytes:
    stamp = clock(time.time() if timestamp is None else timestamp)
    return _dump({"type": "system", "message": message, "timestamp": stamp, **extra})


def _private(notice: ev.PrivateMessage, **target: str) -> bytes:
    return _dump(
        {
            "type": "private",
            "sender": notice.username,
            **target,
            "message": notice.message,
            "timestamp": clock(notice.timestamp),
        }
    )


def _welcome(notice: ev.Welcome, viewer: str | None) -> bytes:
    return _system(notice.message, notice.timestamp, users=list(notice.users))


def _user_list(notice: ev.UserList, viewer: str | None) -> bytes:
    return _dump(
        {
            "type": "list_users",
            "users": list(notice.users),
            "message": describe(notice),
            "timestamp": clock(time.time()),
        }
    )


def _error(notice: ev.Error, viewer: str | None) -> bytes:
    text = _NOT_JOINED if notice.code == ErrorCode.NOT_JOINED else notice.message
    return _system(text, error=str(notice.code))


# Notices that carry the moment they happened; the others are stamped when rendered.
_STAMPED = (ev.TopicChanged, ev.FileShared, ev.UserJoined, ev.UserLeft, ev.UserRenamed)


class TypedCodec(NamingCodec):
    """Seed 000's typed JSON objects, after a bare username line."""

    dialect = "typed"
    specials = {ev.Welcome: _welcome, ev.UserList: _user_list, ev.Error: _error}
    __slots__ = ()

    # ------------------------------------------------------------------ decoding

    def receive_message(self, message: bytes) -> None:
        if not message.strip():
            return
        if self.naming:
            self._receive_name(message)
            return
        obj = load_object(message)
        if isinstance(obj, ev.BadInput):
            self._emit(obj)
            return
        kind = obj.get("type")
        if kind is None:
            self._bad(ErrorCode.MISSING_FIELD, "Missing field 'type'")
        elif kind == "message":
            text = text_field(obj, "message")
            self._emit(text if isinstance(text, ev.BadInput) else ev.Chat(text))
        elif kind == "private":
            target, text = text_field(obj, "target"), text_field(obj, "message")
            if isinstance(target, ev.BadInput):
                self._emit(target)
            elif isinstance(text, ev.BadInput):
                self._emit(text)
            else:
                self._emit(ev.Private(target, text))
        elif kind == "list_users":
            self._emit(ev.ListUsers())
        else:
            shown = str(kind)[:40]
            self._bad(
                ErrorCode.UNKNOWN_TYPE,
                f"Unknown message type '{shown}' (use message, private or list_users)",
            )

    def _receive_name(self, line: bytes) -> None:
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            self._bad(ErrorCode.BAD_UTF8, "Line is not valid UTF-8")
            return
        if text.startswith("{"):
            obj = load_object(line)
            if isinstance(obj, ev.BadInput):
                self._emit(obj)
                return
            name = obj.get("username")
            if not isinstance(name, str):
                self._bad(ErrorCode.NOT_JOINED, _NOT_JOINED)
                return
            text = name
        self._join(text)

    # ------------------------------------------------------------------ the style

    def chat_line(self, notice: ev.ChatMessage) -> bytes:
        obj: dict[str, Any] = {
            "type": "message",
            "sender": notice.username,
            "message": notice.message,
            "timestamp": clock(notice.timestamp),
        }
        if notice.room != ev.DEFAULT_ROOM:
            obj["room"] = notice.room
        return _dump(obj)

    def private_in(self, notice: ev.PrivateMessage) -> bytes:
        return _private(notice)

    def private_out(self, notice: ev.PrivateMessage) -> bytes:
        return _private(notice, target=notice.target)  # the confirmation names the target

    def system_line(self, notice: ev.Notice, text: str) -> bytes:
        return _system(text, notice.timestamp if isinstance(notice, _STAMPED) else None)
