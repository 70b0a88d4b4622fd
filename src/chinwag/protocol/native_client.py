"""The client side of the native dialect (sans-I/O): commands out, notices in.

native.py is the server's half: it decodes commands and encodes notices. This module is
the mirror image, so a client library (or a test) speaks the same wire without a server:

    codec.send(command)           queue the JSON line for a command
    codec.data_to_send()          the bytes to write to the socket
    codec.receive_data(bytes)     feed what the socket gave us
    codec.receive_eof()           the server closed its side
    codec.events_received()       drain the notices decoded so far

A server line this client cannot read never raises: it becomes an `UnreadableNotice`
event, so a newer or buggy server cannot crash a client. Misusing the codec locally (for
example sending a `BadInput`, which only a server-side codec produces) is our bug and
raises `LocalProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson

from chinwag.errors import LocalProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.protocol.framing import LineReceiver, LineTooLong

JsonObject = dict[str, Any]

# A history page or search result carries up to 500 messages on one line, so a client
# accepts far longer lines than the server does.
CLIENT_MAX_LINE = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UnreadableNotice:
    """A server line that is not a notice this client understands (the server's fault)."""

    reason: str
    line: bytes


ServerEvent = ev.Notice | UnreadableNotice


class _Unreadable(Exception):
    """Internal: why a JSON object is not a notice; becomes an UnreadableNotice."""


# --------------------------------------------------------------------------- encoding


def command_to_json(command: ev.Command) -> JsonObject:
    """A command in its native wire form (the inverse of native.decode_command)."""
    match command:
        case ev.Join(username=username, since=since):
            if username is None:
                raise LocalProtocolError("the native dialect needs a username to join")
            obj: JsonObject = {"type": "join", "username": username}
            if since is not None:
                obj["since"] = since
            return obj
        case ev.Chat(message=message, room=room):
            return {"type": "chat", "message": message, "room": room}
        case ev.Private(target=target, message=message):
            return {"type": "private", "target": target, "message": message}
        case ev.ListUsers(room=room):
            return {"type": "list_users"} if room is None else {"type": "list_users", "room": room}
        case ev.Ping(token=token):
            return {"type": "ping"} if token is None else {"type": "ping", "token": token}
        case ev.Pong():
            return {"type": "pong"}
        case ev.Quit(message=message):
            return {"type": "quit"} if message is None else {"type": "quit", "message": message}
        case ev.Rename(username=username):
            return {"type": "nick", "username": username}
        case ev.JoinRoom(room=room):
            return {"type": "join_room", "room": room}
        case ev.LeaveRoom(room=room):
            return {"type": "leave_room", "room": room}
        case ev.ListRooms():
            return {"type": "rooms"}
        case ev.SetTopic(room=room, topic=topic):
            return {"type": "topic", "room": room, "topic": topic}
        case ev.History(room=room, before=before, after=after, limit=limit):
            page: JsonObject = {"type": "history", "room": room, "limit": limit}
            if before is not None:
                page["before"] = before
            if after is not None:
                page["after"] = after
            return page
        case ev.Search(room=room, query=query, limit=limit):
            return {"type": "search", "room": room, "query": query, "limit": limit}
    raise LocalProtocolError(f"{type(command).__name__} is not something a client sends")


def encode_command(command: ev.Command) -> bytes:
    return orjson.dumps(command_to_json(command)) + b"\n"


# --------------------------------------------------------------------------- decoding


def _get(obj: JsonObject, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """A field of the right type; `default` when absent, or unreadable when required."""
    value = obj.get(key)
    if value is None:
        if default is None:
            raise _Unreadable(f"missing field '{key}'")
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Unreadable(f"field '{key}' has the wrong type")
    return value


def _str(obj: JsonObject, key: str, default: str | None = None) -> str:
    return cast(str, _get(obj, key, str, default))


def _int(obj: JsonObject, key: str, default: int | None = None) -> int:
    return cast(int, _get(obj, key, int, default))


def _time(obj: JsonObject) -> float:
    # Seed-004 style servers may omit it; 0.0 means "unknown".
    return float(_get(obj, "timestamp", (int, float), 0.0))


def _names(obj: JsonObject, key: str) -> tuple[str, ...]:
    values = _get(obj, key, list, [])
    if not all(isinstance(v, str) for v in values):
        raise _Unreadable(f"field '{key}' must be a list of names")
    return tuple(values)


def _stored(obj: JsonObject) -> ev.StoredNotice:
    kind = obj.get("type")
    history = obj.get("history") is True
    if kind == "chat":
        return ev.ChatMessage(
            _int(obj, "id", 0),
            _str(obj, "room", DEFAULT_ROOM),
            _str(obj, "username"),
            _str(obj, "message"),
            _time(obj),
            history,
        )
    if kind == "private":
        return ev.PrivateMessage(
            _int(obj, "id", 0),
            _str(obj, "username"),
            _str(obj, "target"),
            _str(obj, "message"),
            _time(obj),
            history,
        )
    if kind == "topic":
        return ev.TopicChanged(
            _int(obj, "id", 0),
            _str(obj, "room"),
            _str(obj, "username"),
            _str(obj, "topic", ""),
            _time(obj),
            history,
        )
    raise _Unreadable(f"'{kind}' is not a stored message")


def _messages(obj: JsonObject) -> tuple[ev.StoredNotice, ...]:
    items = _get(obj, "messages", list, [])
    if not all(isinstance(item, dict) for item in items):
        raise _Unreadable("field 'messages' must be a list of objects")
    return tuple(_stored(item) for item in items)


def _error(obj: JsonObject) -> ev.Error:
    raw = _str(obj, "code", "")
    # A newer server may send a code this client does not know: keep it verbatim (ErrorCode
    # is a StrEnum, so comparing against its members still works) rather than lose the error.
    code = ErrorCode(raw) if raw in ErrorCode._value2member_map_ else cast(ErrorCode, raw)
    return ev.Error(code, _str(obj, "message", raw or "error"))


def _rooms(obj: JsonObject) -> ev.RoomList:
    items = _get(obj, "rooms", list, [])
    if not all(isinstance(item, dict) for item in items):
        raise _Unreadable("field 'rooms' must be a list of objects")
    return ev.RoomList(
        tuple(
            ev.RoomInfo(_str(r, "room"), _int(r, "users", 0), _str(r, "topic", "")) for r in items
        )
    )


def _opt_str(obj: JsonObject, key: str) -> str | None:
    return _str(obj, key) if obj.get(key) is not None else None


def _opt_token(obj: JsonObject) -> str | int | None:
    token = obj.get("token")
    return token if isinstance(token, str | int) and not isinstance(token, bool) else None


_DECODERS: dict[str, Callable[[JsonObject], ev.Notice]] = {
    "chat": _stored,
    "private": _stored,
    "topic": _stored,
    "welcome": lambda o: ev.Welcome(
        _str(o, "username", ""),
        _str(o, "message", ""),
        _names(o, "users"),
        _names(o, "rooms") or (DEFAULT_ROOM,),
        _int(o, "last_id", 0),
        _time(o),
    ),
    "user_joined": lambda o: ev.UserJoined(
        _str(o, "room", DEFAULT_ROOM), _str(o, "username"), _time(o)
    ),
    "user_left": lambda o: ev.UserLeft(
        _str(o, "room", DEFAULT_ROOM), _str(o, "username"), _time(o), _str(o, "reason", "")
    ),
    "nick": lambda o: ev.UserRenamed(_str(o, "old"), _str(o, "username"), _time(o)),
    "list_users": lambda o: ev.UserList(_names(o, "users"), _opt_str(o, "room")),
    "rooms": _rooms,
    "join_room": lambda o: ev.RoomJoined(_str(o, "room"), _str(o, "topic", ""), _names(o, "users")),
    "leave_room": lambda o: ev.RoomLeft(_str(o, "room")),
    "history": lambda o: ev.HistoryPage(_str(o, "room", DEFAULT_ROOM), _messages(o)),
    "search": lambda o: ev.SearchResults(
        _str(o, "room", DEFAULT_ROOM), _str(o, "query", ""), _messages(o)
    ),
    "pong": lambda o: ev.PongReply(_time(o), _opt_token(o)),
    "ping": lambda o: ev.KeepAlive(_time(o)),
    "error": _error,
    "goodbye": lambda o: ev.Goodbye(_str(o, "message", "")),
}


def decode_notice(line: bytes) -> ServerEvent:
    """One server line -> one notice; anything unreadable becomes an UnreadableNotice."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return UnreadableNotice("not valid JSON", line)
    if not isinstance(obj, dict):
        return UnreadableNotice("not a JSON object", line)
    kind = obj.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        return UnreadableNotice(f"unknown notice type {kind!r}"[:80], line)
    try:
        return decoder(obj)
    except _Unreadable as exc:
        return UnreadableNotice(f"{kind}: {exc}", line)


# --------------------------------------------------------------------------- the codec


class NativeClientCodec(LineReceiver[ServerEvent]):
    """One client connection's translator; holds no socket, so it is tested without one."""

    __slots__ = ("_outgoing",)

    def __init__(self, *, max_line: int = CLIENT_MAX_LINE) -> None:
        super().__init__(max_line)
        self._outgoing = bytearray()

    def send(self, command: ev.Command) -> None:
        """Queue a command; the bytes wait in data_to_send()."""
        if self.eof:
            raise LocalProtocolError("the connection is closed")
        self._outgoing += encode_command(command)

    def data_to_send(self) -> bytes:
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def _receive_item(self, item: bytes | LineTooLong) -> None:
        if isinstance(item, LineTooLong):
            self._events.append(UnreadableNotice(f"line too long ({item.size} bytes)", b""))
        elif item.strip():
            self._events.append(decode_notice(item))
