"""The native wire schema, declared once: one `Shape` per JSON message type.

A shape names the wire `type`, the event dataclass and its fields in wire order: the JSON
key, the event attribute, what JSON values are accepted (`Kind`), whether it is required or
its default, whether output leaves it out when it holds the default, and output-only fields
computed from the event. protocol/wire.py turns these into the server's strict command
decoders and notice encoders (native.py) and the client's command encoders and lenient
notice decoders (native_client.py), so adding a command or notice is one entry here (and its
event in events.py). docs/protocol.md is the contract these entries implement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from chinwag.errors import RemoteProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.protocol.sentences import describe_moderation

MAX_ID = 2**63 - 1  # ids, counts and limits fit a signed 64-bit integer (SQLite's)
MAX_JOIN_ROOMS = 100


class Unreadable(Exception):
    """Why a JSON object is not a notice the client understands (lenient decoding)."""


def _invalid(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(ErrorCode.INVALID_FIELD, message)


class Kind:
    """What JSON values a field accepts, and how they become event values and back."""

    __slots__ = ("types", "what")

    def __init__(self, types: tuple[type, ...], what: str) -> None:
        self.types = types
        self.what = what  # for "Field 'x' must be ..."

    def strict(self, key: str, value: Any) -> Any:
        """The server's further checks on a value of an accepted type (may raise)."""
        return value

    def lenient(self, key: str, value: Any) -> Any:
        """The client's conversion of a value of an accepted type (may raise Unreadable)."""
        return value

    # Output conversion of the event value (None: the value is written as it is).
    dump: ClassVar[Callable[[Any], Any] | None] = None


class Count(Kind):
    """A non-negative 64-bit integer: an id, a count, a limit."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__((int,), "an integer")

    def strict(self, key: str, value: Any) -> Any:
        if value < 0:
            raise _invalid(f"Field '{key}' must not be negative")
        if value > MAX_ID:
            raise _invalid(f"Field '{key}' is out of range")
        return value


class Stamp(Kind):
    """Unix seconds; a seed-004 server may send an integer."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__((int, float), "a number")

    def lenient(self, key: str, value: Any) -> Any:
        return float(value)


class Names(Kind):
    """A list of strings, as a tuple; `limit` bounds what a client may send."""

    __slots__ = ("limit",)
    dump = list

    def __init__(self, limit: int | None = None) -> None:
        super().__init__((list,), "a list of strings")
        self.limit = limit

    def strict(self, key: str, value: Any) -> Any:
        if not all(isinstance(v, str) for v in value):
            raise _invalid(f"Field '{key}' must be {self.what}")
        if self.limit is not None and len(value) > self.limit:
            raise _invalid(f"Field '{key}' may hold at most {self.limit} entries")
        return tuple(value)

    def lenient(self, key: str, value: Any) -> Any:
        if not all(isinstance(v, str) for v in value):
            raise Unreadable(f"field '{key}' must be a list of names")
        return tuple(value)


class Code(Kind):
    """An error code; one this client does not know is kept verbatim (ErrorCode is a
    StrEnum, so comparing against its members still works) rather than lose the error."""

    __slots__ = ()
    dump = str

    def __init__(self) -> None:
        super().__init__((str,), "a string")

    def lenient(self, key: str, value: Any) -> Any:
        return ErrorCode(value) if value in ErrorCode._value2member_map_ else value


class Items(Kind):
    """A list of objects of the given shapes; tagged by their `type` when more than one."""

    __slots__ = ("noun", "shapes")

    def __init__(self, noun: str, *shapes: Shape) -> None:
        super().__init__((list,), "a list of objects")
        self.noun = noun
        self.shapes = shapes


TEXT = Kind((str,), "a string")
COUNT = Count()
TOKEN = Kind((str, int), "a string or an integer")
STAMP = Stamp()
FLAG = Kind((bool,), "true or false")
NAMES = Names()
CODE = Code()


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # the JSON key
    kind: Kind
    attr: str = ""  # the event attribute, if it is not `key`
    required: bool = True  # missing: missing_field on the server, unreadable on the client
    default: Any = None  # the value when absent (not required)
    omit: bool = False  # output leaves it out when it holds the default
    blank: bool = False  # input: a false value (an empty room name) means the default
    tolerant: bool = False  # client input: a value of the wrong type means the default
    compute: Callable[[Any], Any] | None = None  # output only, computed from the event

    @property
    def name(self) -> str:
        return self.attr or self.key


def opt(key: str, kind: Kind, default: Any = None, **options: Any) -> Field:
    return Field(key, kind, required=False, default=default, **options)


def computed(key: str, compute: Callable[[Any], Any]) -> Field:
    return Field(key, TEXT, required=False, compute=compute)


@dataclass(frozen=True, slots=True)
class Shape:
    name: str | None  # the wire `type`; None for a nested object without one
    event: type
    fields: tuple[Field, ...]
    build: Callable[..., Any] | None = None  # client decoding: event from values, if not event

    def decoded(self) -> tuple[Field, ...]:
        """The fields read from input, in the event's constructor order."""
        order = [f.name for f in dataclasses.fields(self.event)]
        by_name = {f.name: f for f in self.fields if f.compute is None}
        if set(by_name) != set(order):
            raise TypeError(f"the schema of {self.name!r} does not match {self.event.__name__}")
        return tuple(by_name[name] for name in order)


def shape(
    name: str | None, event: type, *declared: Field, build: Callable[..., Any] | None = None
) -> Shape:
    return Shape(name, event, declared, build)


# --------------------------------------------------------------------------- commands

ROOM = opt("room", TEXT, DEFAULT_ROOM, blank=True)
LIMIT = opt("limit", COUNT, 50)
REASON = opt("reason", TEXT, "", omit=True)

COMMANDS: tuple[Shape, ...] = (
    shape(
        "join",
        ev.Join,
        Field("username", TEXT),
        opt("since", COUNT, omit=True),
        opt("rooms", Names(MAX_JOIN_ROOMS), (), omit=True),
        opt("password", TEXT, omit=True),
        opt("token", TEXT, omit=True),
        opt("resume", TEXT, omit=True),
    ),
    shape(
        "register",
        ev.Register,
        Field("username", TEXT),
        Field("password", TEXT),
        opt("rooms", Names(MAX_JOIN_ROOMS), (), omit=True),
    ),
    shape("logout", ev.Logout),
    shape("password", ev.ChangePassword, Field("old", TEXT), Field("new", TEXT)),
    shape("chat", ev.Chat, Field("message", TEXT), ROOM),
    shape("private", ev.Private, Field("target", TEXT), Field("message", TEXT)),
    shape("list_users", ev.ListUsers, opt("room", TEXT, omit=True)),
    shape("ping", ev.Ping, opt("token", TOKEN, omit=True)),
    shape("away", ev.Away, opt("message", TEXT, omit=True)),
    shape("whowas", ev.WhoWas, Field("username", TEXT), opt("limit", COUNT, 10, omit=True)),
    shape("pong", ev.Pong),
    shape("quit", ev.Quit, opt("message", TEXT, omit=True)),
    shape("nick", ev.Rename, Field("username", TEXT)),
    shape("join_room", ev.JoinRoom, Field("room", TEXT)),
    shape("leave_room", ev.LeaveRoom, Field("room", TEXT)),
    shape(
        "rooms", ev.ListRooms, opt("after", TEXT, omit=True), opt("limit", COUNT, 100, omit=True)
    ),
    shape("topic", ev.SetTopic, Field("room", TEXT), Field("topic", TEXT)),
    shape(
        "history",
        ev.History,
        ROOM,
        LIMIT,
        opt("before", COUNT, omit=True),
        opt("after", COUNT, omit=True),
        opt("with", TEXT, attr="with_", omit=True),
        opt("before_time", STAMP, omit=True),
        opt("after_time", STAMP, omit=True),
    ),
    shape("search", ev.Search, ROOM, Field("query", TEXT), LIMIT),
    shape(
        "set_role",
        ev.SetRole,
        Field("username", TEXT),
        Field("role", TEXT),
        opt("room", TEXT, omit=True),
    ),
    shape("kick", ev.Kick, Field("room", TEXT), Field("username", TEXT), REASON),
    shape(
        "ban",
        ev.Ban,
        Field("username", TEXT),
        opt("room", TEXT, omit=True),
        opt("duration", COUNT, omit=True),
        REASON,
    ),
    shape("unban", ev.Unban, Field("username", TEXT), opt("room", TEXT, omit=True)),
    shape(
        "mute",
        ev.Mute,
        Field("room", TEXT),
        Field("username", TEXT),
        opt("duration", COUNT, omit=True),
        REASON,
    ),
    shape("unmute", ev.Unmute, Field("room", TEXT), Field("username", TEXT)),
    shape(
        "room_mode",
        ev.RoomMode,
        Field("room", TEXT),
        opt("invite_only", FLAG, omit=True),
        opt("moderated", FLAG, omit=True),
        opt("topic_locked", FLAG, omit=True),
    ),
    shape("invite", ev.Invite, Field("room", TEXT), Field("username", TEXT)),
    shape("delete_message", ev.DeleteMessage, Field("id", COUNT)),
    shape("announce", ev.Announce, Field("message", TEXT)),
    shape(
        "audit",
        ev.Audit,
        opt("room", TEXT, omit=True),
        opt("since", STAMP, omit=True),
        opt("limit", COUNT, 50, omit=True),
    ),
)

# --------------------------------------------------------------------------- notices

ID = opt("id", COUNT, 0)
TIMESTAMP = opt("timestamp", STAMP, 0.0)  # seed-004 servers may omit it: 0.0 is "unknown"
HISTORY = opt("history", FLAG, False, omit=True, tolerant=True)
# The sender (joiner, renamed user) is signed in to its account, whose name is its name.
SIGNED_IN = opt("signed_in", FLAG, False, omit=True, tolerant=True)
IN_ROOM = opt("room", TEXT, DEFAULT_ROOM)
USERNAME = Field("username", TEXT)
ACCOUNTS = opt("accounts", NAMES, (), omit=True)  # the names signed in to an account

CHAT = shape(
    "chat",
    ev.ChatMessage,
    ID,
    IN_ROOM,
    USERNAME,
    Field("message", TEXT),
    TIMESTAMP,
    HISTORY,
    opt("deleted", FLAG, False, omit=True, tolerant=True),
    SIGNED_IN,
)
PRIVATE = shape(
    "private",
    ev.PrivateMessage,
    ID,
    USERNAME,
    Field("target", TEXT),
    Field("message", TEXT),
    TIMESTAMP,
    HISTORY,
    SIGNED_IN,
    opt("away", TEXT, "", omit=True, tolerant=True),
)
TOPIC = shape(
    "topic",
    ev.TopicChanged,
    ID,
    Field("room", TEXT),
    USERNAME,
    opt("topic", TEXT, ""),
    TIMESTAMP,
    HISTORY,
    SIGNED_IN,
)
FILE = shape(
    "file",
    ev.FileShared,
    ID,
    Field("room", TEXT),
    USERNAME,
    Field("name", TEXT),
    opt("size", COUNT, 0),
    opt("media_type", TEXT, "application/octet-stream"),
    Field("url", TEXT),
    TIMESTAMP,
    HISTORY,
    opt("sha256", TEXT, "", omit=True),
    opt("deleted", FLAG, False, omit=True, tolerant=True),
)
STORED = Items("stored message", CHAT, PRIVATE, TOPIC, FILE)
AUDIT_ENTRY = shape(
    None,
    ev.AuditEntry,
    ID,
    TIMESTAMP,
    opt("actor", TEXT, ""),
    opt("action", TEXT, ""),
    opt("target", TEXT, "", omit=True),
    opt("room", TEXT, "", omit=True),
    opt("reason", TEXT, "", omit=True),
    opt("until", STAMP, omit=True, tolerant=True),
)
# Who set a room's topic and when (left out while unknown: no topic set yet).
TOPIC_BY = opt("topic_by", TEXT, "", omit=True, tolerant=True)
TOPIC_AT = opt("topic_at", STAMP, 0.0, omit=True, tolerant=True)
ABSENT = shape(None, ev.Absent, USERNAME, opt("message", TEXT, ""))
SIGNED_OFF = shape(None, ev.SignedOff, USERNAME, TIMESTAMP, SIGNED_IN)
ROOM_INFO = shape(
    None,
    ev.RoomInfo,
    Field("room", TEXT),
    opt("users", COUNT, 0),
    opt("topic", TEXT, ""),
    TOPIC_BY,
    TOPIC_AT,
)


def _error(code: str, message: str | None) -> ev.Error:
    return ev.Error(cast(ErrorCode, code), (str(code) or "error") if message is None else message)


NOTICES: tuple[Shape, ...] = (
    CHAT,
    PRIVATE,
    TOPIC,
    FILE,
    shape(
        "welcome",
        ev.Welcome,
        opt("message", TEXT, ""),
        opt("username", TEXT, ""),
        opt("users", NAMES, ()),
        opt("rooms", NAMES, (DEFAULT_ROOM,), blank=True),
        opt("last_id", COUNT, 0),
        TIMESTAMP,
        ACCOUNTS,
        opt("guest", FLAG, False, omit=True, tolerant=True),
        opt("account", TEXT, omit=True),
        opt("token", TEXT, omit=True),
        opt("resume", TEXT, omit=True),
    ),
    shape(
        "user_joined",
        ev.UserJoined,
        USERNAME,
        IN_ROOM,
        computed("message", lambda n: f"{n.username} joined the chat"),
        TIMESTAMP,
        SIGNED_IN,
    ),
    shape(
        "user_left",
        ev.UserLeft,
        USERNAME,
        IN_ROOM,
        computed("message", lambda n: f"{n.username} left the chat"),
        TIMESTAMP,
        opt("reason", TEXT, "", omit=True),
    ),
    shape(
        "nick",
        ev.UserRenamed,
        Field("old", TEXT),
        Field("username", TEXT, attr="new"),
        computed("message", lambda n: f"{n.old} is now known as {n.new}"),
        TIMESTAMP,
        SIGNED_IN,
    ),
    shape("away", ev.UserAway, USERNAME, opt("message", TEXT, ""), TIMESTAMP),
    shape("whowas", ev.WhoWasReply, USERNAME, opt("seen", Items("sign-out", SIGNED_OFF), ())),
    shape(
        "list_users",
        ev.UserList,
        opt("users", NAMES, ()),
        opt("room", TEXT, omit=True),
        ACCOUNTS,
        opt("away", Items("away entry", ABSENT), (), omit=True),
    ),
    shape(
        "rooms",
        ev.RoomList,
        opt("rooms", Items("room", ROOM_INFO), ()),
        opt("next", TEXT, omit=True),
    ),
    shape(
        "join_room",
        ev.RoomJoined,
        Field("room", TEXT),
        opt("topic", TEXT, ""),
        opt("users", NAMES, ()),
        ACCOUNTS,
        opt("operators", NAMES, (), omit=True),
        opt("voiced", NAMES, (), omit=True),
        opt("modes", NAMES, (), omit=True),
        TOPIC_BY,
        TOPIC_AT,
    ),
    shape("leave_room", ev.RoomLeft, Field("room", TEXT)),
    shape(
        "moderation",
        ev.Moderated,
        ID,
        opt("action", TEXT, ""),
        opt("by", TEXT, ""),
        TIMESTAMP,
        opt("room", TEXT, omit=True),
        opt("username", TEXT, omit=True),
        opt("reason", TEXT, "", omit=True),
        opt("until", STAMP, omit=True, tolerant=True),
        opt("role", TEXT, omit=True),
        opt("modes", NAMES, (), omit=True),
        computed("message", describe_moderation),
    ),
    shape(
        "deleted",
        ev.Deleted,
        ID,
        opt("room", TEXT, omit=True),
        opt("by", TEXT, ""),
        TIMESTAMP,
    ),
    shape(
        "announce",
        ev.Announcement,
        USERNAME,
        Field("message", TEXT),
        TIMESTAMP,
    ),
    shape(
        "audit",
        ev.AuditLog,
        opt("entries", Items("audit entry", AUDIT_ENTRY), ()),
        opt("room", TEXT, omit=True),
    ),
    shape(
        "history",
        ev.HistoryPage,
        IN_ROOM,
        opt("messages", STORED, ()),
        opt("with", TEXT, attr="with_", omit=True),
    ),
    shape(
        "search",
        ev.SearchResults,
        IN_ROOM,
        opt("query", TEXT, ""),
        opt("messages", STORED, ()),
    ),
    shape("pong", ev.PongReply, TIMESTAMP, opt("token", TOKEN, omit=True, tolerant=True)),
    shape("ping", ev.KeepAlive, TIMESTAMP),
    shape("error", ev.Error, opt("code", CODE, ""), opt("message", TEXT), build=_error),
    shape("goodbye", ev.Goodbye, opt("message", TEXT, "")),
    shape("ok", ev.Done, opt("command", TEXT, ""), opt("message", TEXT, "")),
)
