"""The native dialect: one JSON object per line, a superset of seed 004's protocol.

The wire contract is docs/protocol.md; this module is its implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from chinwag.errors import RemoteProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.codec import Codec
from chinwag.protocol.common import JsonObject, load_object
from chinwag.protocol.events import ErrorCode

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false"}


# --------------------------------------------------------------------------- decoding


def _field(obj: JsonObject, key: str, kind: type | tuple[type, ...], *, required: bool) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise RemoteProtocolError(ErrorCode.MISSING_FIELD, f"Missing field '{key}'")
        return None
    # bool is an int in Python; never accept it where a number is meant.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise RemoteProtocolError(ErrorCode.INVALID_FIELD, f"Field '{key}' must be {names}")
    return value


def _text(obj: JsonObject, key: str) -> str:
    value: str = _field(obj, key, str, required=True)
    return value


def _opt_text(obj: JsonObject, key: str) -> str | None:
    value: str | None = _field(obj, key, str, required=False)
    return value


def _opt_int(obj: JsonObject, key: str) -> int | None:
    value: int | None = _field(obj, key, int, required=False)
    if value is not None and value < 0:
        raise RemoteProtocolError(ErrorCode.INVALID_FIELD, f"Field '{key}' must not be negative")
    return value


def _room(obj: JsonObject) -> str:
    return _opt_text(obj, "room") or ev.DEFAULT_ROOM


def _limit(obj: JsonObject) -> int:
    limit = _opt_int(obj, "limit")
    return 50 if limit is None else limit


def _token(obj: JsonObject) -> str | int | None:
    value: str | int | None = _field(obj, "token", (str, int), required=False)
    return value


_PARSERS: dict[str, Callable[[JsonObject], ev.Command]] = {
    "join": lambda o: ev.Join(_text(o, "username"), _opt_int(o, "since")),
    "chat": lambda o: ev.Chat(_text(o, "message"), _room(o)),
    "private": lambda o: ev.Private(_text(o, "target"), _text(o, "message")),
    "list_users": lambda o: ev.ListUsers(_opt_text(o, "room")),
    "ping": lambda o: ev.Ping(_token(o)),
    "pong": lambda o: ev.Pong(),
    "quit": lambda o: ev.Quit(_opt_text(o, "message")),
    "nick": lambda o: ev.Rename(_text(o, "username")),
    "join_room": lambda o: ev.JoinRoom(_text(o, "room")),
    "leave_room": lambda o: ev.LeaveRoom(_text(o, "room")),
    "rooms": lambda o: ev.ListRooms(),
    "topic": lambda o: ev.SetTopic(_text(o, "room"), _text(o, "topic")),
    "history": lambda o: ev.History(
        _room(o), _opt_int(o, "before"), _opt_int(o, "after"), _limit(o)
    ),
    "search": lambda o: ev.Search(_room(o), _text(o, "query"), _limit(o)),
}


def decode_command(line: bytes) -> ev.Command:
    """One native line -> one command; bad input becomes a BadInput, never an exception."""
    obj = load_object(line)
    if isinstance(obj, ev.BadInput):
        return obj
    kind = obj.get("type")
    if kind is None:
        return ev.BadInput(ErrorCode.MISSING_FIELD, "Missing field 'type'")
    if not isinstance(kind, str):
        return ev.BadInput(ErrorCode.INVALID_FIELD, "Field 'type' must be a string")
    parser = _PARSERS.get(kind)
    if parser is None:
        shown = kind if len(kind) <= 40 else kind[:40] + "..."
        return ev.BadInput(ErrorCode.UNKNOWN_TYPE, f"Unknown message type '{shown}'")
    try:
        return parser(obj)
    except RemoteProtocolError as exc:
        return ev.BadInput(ErrorCode(exc.code), exc.message)


# --------------------------------------------------------------------------- encoding


def stored_to_json(notice: ev.StoredNotice) -> JsonObject:
    """A stored message in its live shape (also used inside history pages)."""
    obj: JsonObject
    if isinstance(notice, ev.ChatMessage):
        obj = {
            "type": "chat",
            "id": notice.id,
            "room": notice.room,
            "username": notice.username,
            "message": notice.message,
            "timestamp": notice.timestamp,
        }
    elif isinstance(notice, ev.PrivateMessage):
        obj = {
            "type": "private",
            "id": notice.id,
            "username": notice.username,
            "target": notice.target,
            "message": notice.message,
            "timestamp": notice.timestamp,
        }
    else:
        obj = {
            "type": "topic",
            "id": notice.id,
            "room": notice.room,
            "username": notice.username,
            "topic": notice.topic,
            "timestamp": notice.timestamp,
        }
    if notice.history:
        obj["history"] = True
    return obj


def notice_to_json(notice: ev.Notice) -> JsonObject:
    match notice:
        case ev.ChatMessage() | ev.PrivateMessage() | ev.TopicChanged():
            return stored_to_json(notice)
        case ev.Welcome():
            return {
                "type": "welcome",
                "message": notice.message,
                "username": notice.username,
                "users": list(notice.users),
                "rooms": list(notice.rooms),
                "last_id": notice.last_id,
                "timestamp": notice.timestamp,
            }
        case ev.UserJoined():
            return {
                "type": "user_joined",
                "username": notice.username,
                "room": notice.room,
                "message": f"{notice.username} joined the chat",
                "timestamp": notice.timestamp,
            }
        case ev.UserLeft():
            obj: JsonObject = {
                "type": "user_left",
                "username": notice.username,
                "room": notice.room,
                "message": f"{notice.username} left the chat",
                "timestamp": notice.timestamp,
            }
            if notice.reason:
                obj["reason"] = notice.reason
            return obj
        case ev.UserRenamed():
            return {
                "type": "nick",
                "old": notice.old,
                "username": notice.new,
                "message": f"{notice.old} is now known as {notice.new}",
                "timestamp": notice.timestamp,
            }
        case ev.UserList():
            users: JsonObject = {"type": "list_users", "users": list(notice.users)}
            if notice.room is not None:
                users["room"] = notice.room
            return users
        case ev.RoomList():
            return {
                "type": "rooms",
                "rooms": [
                    {"room": r.room, "users": r.users, "topic": r.topic} for r in notice.rooms
                ],
            }
        case ev.RoomJoined():
            return {
                "type": "join_room",
                "room": notice.room,
                "topic": notice.topic,
                "users": list(notice.users),
            }
        case ev.RoomLeft():
            return {"type": "leave_room", "room": notice.room}
        case ev.HistoryPage():
            return {
                "type": "history",
                "room": notice.room,
                "messages": [stored_to_json(m) for m in notice.messages],
            }
        case ev.SearchResults():
            return {
                "type": "search",
                "room": notice.room,
                "query": notice.query,
                "messages": [stored_to_json(m) for m in notice.messages],
            }
        case ev.PongReply():
            pong: JsonObject = {"type": "pong", "timestamp": notice.timestamp}
            if notice.token is not None:
                pong["token"] = notice.token
            return pong
        case ev.KeepAlive():
            return {"type": "ping", "timestamp": notice.timestamp}
        case ev.Error():
            return {"type": "error", "code": str(notice.code), "message": notice.message}
        case ev.Goodbye():
            return {"type": "goodbye", "message": notice.message}
    raise AssertionError(f"unhandled notice {notice!r}")  # pragma: no cover


def encode_notice(notice: ev.Notice) -> bytes:
    return orjson.dumps(notice_to_json(notice)) + b"\n"


class NativeCodec(Codec):
    """JSON lines: `{"type": ...}` objects both ways."""

    dialect = "native"
    always_shared = True
    __slots__ = ()

    def _receive_line(self, line: bytes) -> None:
        if not line.strip():
            return  # blank lines are keep-alives some clients send; ignore them
        self._emit(decode_command(line))

    def encode(self, notice: ev.Notice) -> bytes:
        if isinstance(notice, ev.Welcome):
            self.username = notice.username
        return encode_notice(notice)
