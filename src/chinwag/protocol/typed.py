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
from chinwag.protocol.common import (
    NAME_ERRORS,
    EchoFreeCodec,
    describe,
    load_object,
    text_field,
)
from chinwag.protocol.events import ErrorCode

_NOT_JOINED = "Send your username as a line of its own first"


def clock(timestamp: float) -> str:
    """Unix seconds as the seed's `HH:MM:SS`, in the server's local time."""
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def _dump(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _system(message: str, timestamp: float | None = None, **extra: Any) -> bytes:
    stamp = clock(time.time() if timestamp is None else timestamp)
    return _dump({"type": "system", "message": message, "timestamp": stamp, **extra})


def _stored(notice: ev.StoredNotice) -> bytes:
    if isinstance(notice, ev.ChatMessage):
        obj: dict[str, Any] = {
            "type": "message",
            "sender": notice.username,
            "message": notice.message,
            "timestamp": clock(notice.timestamp),
        }
        if notice.room != ev.DEFAULT_ROOM:
            obj["room"] = notice.room
        return _dump(obj)
    if isinstance(notice, ev.PrivateMessage):
        return _dump(
            {
                "type": "private",
                "sender": notice.username,
                "message": notice.message,
                "timestamp": clock(notice.timestamp),
            }
        )
    return _system(describe(notice), notice.timestamp)


class TypedCodec(EchoFreeCodec):
    """Seed 000's typed JSON objects, after a bare username line."""

    dialect = "typed"
    __slots__ = ("_naming",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._naming = True  # the next line names the client

    # ------------------------------------------------------------------ decoding

    def _receive_line(self, line: bytes) -> None:
        if not line.strip():
            return
        if self._naming:
            self._receive_name(line)
            return
        obj = load_object(line)
        if isinstance(obj, ev.BadInput):
            self._emit(obj)
            return
        kind = obj.get("type")
        if kind is None:
            self._bad(ErrorCode.MISSING_FIELD, "Missing field 'type'")
        elif kind == "message":
            message = text_field(obj, "message")
            self._emit(message if isinstance(message, ev.BadInput) else ev.Chat(message))
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
        self._naming = False
        self._emit(ev.Join(text))

    # ------------------------------------------------------------------ encoding

    def encode(self, notice: ev.Notice) -> bytes:
        match notice:
            case ev.ChatMessage():
                return b"" if self._is_own_echo(notice) else _stored(notice)
            case ev.PrivateMessage():
                if notice.username == self.username and notice.target != self.username:
                    return _dump(  # the sender's confirmation names the target
                        {
                            "type": "private",
                            "sender": notice.username,
                            "target": notice.target,
                            "message": notice.message,
                            "timestamp": clock(notice.timestamp),
                        }
                    )
                return _stored(notice)
            case ev.TopicChanged():
                return _stored(notice)
            case ev.Welcome():
                self.username = notice.username
                self._naming = False
                return _system(notice.message, notice.timestamp, users=list(notice.users))
            case ev.UserList():
                return _dump(
                    {
                        "type": "list_users",
                        "users": list(notice.users),
                        "message": describe(notice),
                        "timestamp": clock(time.time()),
                    }
                )
            case ev.Error():
                if notice.code in NAME_ERRORS and self.username is None:
                    self._naming = True
                text = _NOT_JOINED if notice.code == ErrorCode.NOT_JOINED else notice.message
                return _system(text, error=str(notice.code))
            case ev.UserRenamed():
                if notice.old == self.username:
                    self.username = notice.new
                return _system(describe(notice), notice.timestamp)
            case ev.UserJoined() | ev.UserLeft():
                return _system(describe(notice), notice.timestamp)
            case ev.HistoryPage() | ev.SearchResults():
                return b"".join(_stored(m) for m in notice.messages)
            case ev.KeepAlive():
                return b""  # the seed has no ping; TCP keep-alive finds dead peers
        return _system(describe(notice))
