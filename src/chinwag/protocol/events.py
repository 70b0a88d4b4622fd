"""The events that flow between codecs and the engine.

Two families, both frozen and slotted:
- commands: what a client asks for (decoded by a codec, handled by the engine);
- notices: what the server tells a client (built by the engine, encoded by a codec).

They are dialect-neutral: every codec maps its own wire form onto these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_ROOM = "general"


class ErrorCode(StrEnum):
    """Stable, machine-readable error codes (the `code` of an `error` reply)."""

    BAD_JSON = "bad_json"
    NOT_OBJECT = "not_object"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    LINE_TOO_LONG = "line_too_long"
    BAD_UTF8 = "bad_utf8"
    NAME_TAKEN = "name_taken"
    INVALID_NAME = "invalid_name"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    UNKNOWN_USER = "unknown_user"
    UNKNOWN_ROOM = "unknown_room"
    INVALID_ROOM = "invalid_room"
    NOT_IN_ROOM = "not_in_room"
    EMPTY_MESSAGE = "empty_message"
    RATE_LIMITED = "rate_limited"
    SERVER_BUSY = "server_busy"
    UNKNOWN_COMMAND = "unknown_command"
    FORBIDDEN = "forbidden"
    TOO_EXPENSIVE = "too_expensive"
    STORE_UNAVAILABLE = "store_unavailable"
    INTERNAL_ERROR = "internal_error"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    ROOM_LIMIT = "room_limit"
    AUTH_FAILED = "auth_failed"
    AUTH_THROTTLED = "auth_throttled"
    NAME_REGISTERED = "name_registered"
    LOGIN_REQUIRED = "login_required"
    REGISTRATION_CLOSED = "registration_closed"
    INVALID_PASSWORD = "invalid_password"
    BANNED = "banned"
    MUTED = "muted"
    INVITE_ONLY = "invite_only"
    UNKNOWN_MESSAGE = "unknown_message"


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Join:
    """Claim a username; `None` asks the server to pick one (plain dialect).

    `since` asks for the messages missed after that id; `rooms` names rooms to be put back
    in (a reconnecting client's rooms: a guest has no saved rooms of its own).
    """

    username: str | None
    since: int | None = None
    rooms: tuple[str, ...] = ()
    # Proof of who it is: a password, or a token from an earlier welcome (never printed).
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    # A guest's secret from its earlier welcome: takes its name back from the session it
    # was (a connection that died, on this server or another node).
    resume: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Register:
    """Create an account and sign in with it (a joined guest becomes that account)."""

    username: str
    password: str = field(repr=False)
    rooms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Logout:
    """Revoke this connection's login token and leave."""


@dataclass(frozen=True, slots=True)
class ChangePassword:
    old: str = field(repr=False)
    new: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Chat:
    message: str
    room: str = DEFAULT_ROOM


@dataclass(frozen=True, slots=True)
class Private:
    target: str
    message: str


@dataclass(frozen=True, slots=True)
class Away:
    """Mark oneself away with a message, or (None or blank) back."""

    message: str | None = None


@dataclass(frozen=True, slots=True)
class WhoWas:
    """Who went by this name lately (the newest `limit` sign-outs under it)."""

    username: str
    limit: int = 10


@dataclass(frozen=True, slots=True)
class ListUsers:
    room: str | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    token: str | int | None = None


@dataclass(frozen=True, slots=True)
class Pong:
    """A client's answer to a server keep-alive ping."""


@dataclass(frozen=True, slots=True)
class Quit:
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Rename:
    username: str


@dataclass(frozen=True, slots=True)
class JoinRoom:
    room: str


@dataclass(frozen=True, slots=True)
class LeaveRoom:
    room: str


@dataclass(frozen=True, slots=True)
class ListRooms:
    """A page of the room list: rooms whose name sorts after `after`, at most `limit`."""

    after: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class SetTopic:
    room: str
    topic: str


@dataclass(frozen=True, slots=True)
class History:
    """A page of a room's history, or (`with_` a name) of one's private conversation."""

    room: str
    before: int | None = None
    after: int | None = None
    limit: int = 50
    with_: str | None = None
    # Times (unix seconds) instead of ids: the messages said before / after them.
    before_time: float | None = None
    after_time: float | None = None


@dataclass(frozen=True, slots=True)
class Search:
    room: str
    query: str
    limit: int = 50


# ---- moderation (engine/moderation.py): who may run each is in the engine's command table


@dataclass(frozen=True, slots=True)
class SetRole:
    """A room role (`room` given: operator, voice, member) or a server role (no room:
    admin, moderator, member)."""

    username: str
    role: str
    room: str | None = None


@dataclass(frozen=True, slots=True)
class Kick:
    room: str
    username: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Ban:
    """A room ban (`room` given) or a server ban; `duration` seconds, None: until lifted."""

    username: str
    room: str | None = None
    duration: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Unban:
    username: str
    room: str | None = None


@dataclass(frozen=True, slots=True)
class Mute:
    room: str
    username: str
    duration: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Unmute:
    room: str
    username: str


@dataclass(frozen=True, slots=True)
class RoomMode:
    """Change a room's modes; a mode left None stays as it is."""

    room: str
    invite_only: bool | None = None
    moderated: bool | None = None
    topic_locked: bool | None = None


@dataclass(frozen=True, slots=True)
class Invite:
    room: str
    username: str


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    id: int


@dataclass(frozen=True, slots=True)
class Announce:
    message: str


@dataclass(frozen=True, slots=True)
class Audit:
    """The moderation log: of a room (its operators), or of everything (moderators)."""

    room: str | None = None
    since: float | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class BadInput:
    """A line the codec could not accept; the engine answers it with an error."""

    code: ErrorCode
    message: str


Command = (
    Join
    | Away
    | WhoWas
    | Chat
    | Private
    | ListUsers
    | Ping
    | Pong
    | Quit
    | Rename
    | JoinRoom
    | LeaveRoom
    | ListRooms
    | SetTopic
    | History
    | Search
    | Register
    | Logout
    | ChangePassword
    | SetRole
    | Kick
    | Ban
    | Unban
    | Mute
    | Unmute
    | RoomMode
    | Invite
    | DeleteMessage
    | Announce
    | Audit
    | BadInput
)


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message said in a room; also the echo that confirms acceptance to its sender."""

    id: int
    room: str
    username: str
    message: str
    timestamp: float
    history: bool = False
    deleted: bool = False  # a tombstone: the message was deleted, its text is gone
    signed_in: bool = False  # the sender is signed in to its account (live messages)


@dataclass(frozen=True, slots=True)
class PrivateMessage:
    """A private message; its sender receives the same notice as confirmation."""

    id: int
    username: str
    target: str
    message: str
    timestamp: float
    history: bool = False
    signed_in: bool = False  # the sender is signed in to its account (live messages)
    away: str = ""  # on the sender's own copy: the target is away, with this message


@dataclass(frozen=True, slots=True)
class TopicChanged:
    id: int
    room: str
    username: str
    topic: str
    timestamp: float
    history: bool = False
    signed_in: bool = False  # the setter is signed in to its account (live messages)


@dataclass(frozen=True, slots=True)
class FileShared:
    """A file someone uploaded to a room (POST /api/files): a message of its own kind.

    `url` is where members download it (with their login token); `sha256` is the
    content's hash, also its name in the server's file store.
    """

    id: int
    room: str
    username: str
    name: str
    size: int
    media_type: str
    url: str
    timestamp: float
    history: bool = False
    sha256: str = ""
    deleted: bool = False  # removed by its sender or a moderator: a tombstone, no file


def tombstone(notice: FileShared) -> FileShared:
    """A deleted file message: who shared it and when, nothing about the file."""
    return FileShared(notice.id, notice.room, notice.username, "", 0, "", "", notice.timestamp,
                      notice.history, deleted=True)  # fmt: skip


StoredNotice = ChatMessage | PrivateMessage | TopicChanged | FileShared


@dataclass(frozen=True, slots=True)
class Welcome:
    username: str
    message: str
    users: tuple[str, ...]
    rooms: tuple[str, ...]
    last_id: int
    timestamp: float
    accounts: tuple[str, ...] = ()  # those of `users` signed in to an account; the rest: guests
    guest: bool = False  # this session proved nothing: it is a guest
    account: str | None = None  # the account signed in (its name)
    token: str | None = field(default=None, repr=False)  # to sign in again without a password
    resume: str | None = field(default=None, repr=False)  # a guest's: to take its name back


@dataclass(frozen=True, slots=True)
class UserJoined:
    room: str
    username: str
    timestamp: float
    signed_in: bool = False  # the joiner is signed in to its account (else a guest)


@dataclass(frozen=True, slots=True)
class UserLeft:
    room: str
    username: str
    timestamp: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class UserRenamed:
    old: str
    new: str
    timestamp: float
    signed_in: bool = False  # under the new name it is signed in to its account


@dataclass(frozen=True, slots=True)
class UserAway:
    """Someone who shares a room with you is away now (`message`), or back ("")."""

    username: str
    message: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class Absent:
    """In a user list: one of its users is away, with this message."""

    username: str
    message: str


@dataclass(frozen=True, slots=True)
class SignedOff:
    """One sign-out the server remembers (for `whowas`)."""

    username: str
    timestamp: float
    signed_in: bool = False  # it was signed in to its account (else a guest)


@dataclass(frozen=True, slots=True)
class WhoWasReply:
    """The answer to `whowas`: the newest sign-outs under that name first (none: unknown)."""

    username: str
    seen: tuple[SignedOff, ...] = ()


@dataclass(frozen=True, slots=True)
class UserList:
    users: tuple[str, ...]
    room: str | None = None
    accounts: tuple[str, ...] = ()  # those of `users` signed in to an account
    away: tuple[Absent, ...] = ()  # those of `users` who are away


@dataclass(frozen=True, slots=True)
class RoomInfo:
    room: str
    users: int
    topic: str
    topic_by: str = ""  # who set the topic ("": unknown)
    topic_at: float = 0.0  # when (unix time; 0.0: unknown)


@dataclass(frozen=True, slots=True)
class RoomList:
    rooms: tuple[RoomInfo, ...]
    next: str | None = None  # more rooms follow: ask with after=next


@dataclass(frozen=True, slots=True)
class RoomJoined:
    room: str
    topic: str
    users: tuple[str, ...]
    accounts: tuple[str, ...] = ()  # those of `users` signed in to an account
    operators: tuple[str, ...] = ()  # its owners and operators among `users`
    voiced: tuple[str, ...] = ()  # its voiced members among `users`
    modes: tuple[str, ...] = ()  # invite_only, moderated, topic_locked
    topic_by: str = ""  # who set the topic ("": unknown)
    topic_at: float = 0.0  # when (unix time; 0.0: unknown)


@dataclass(frozen=True, slots=True)
class RoomLeft:
    room: str


@dataclass(frozen=True, slots=True)
class Moderated:
    """A moderation action, told to the room it happened in (or to its target alone):
    kick, ban, unban, mute, unmute, role, invite, mode. `id` is its audit log entry."""

    id: int
    action: str
    by: str
    timestamp: float
    room: str | None = None
    username: str | None = None  # whom (None: the room itself, for `mode`)
    reason: str = ""
    until: float | None = None  # when a ban or mute ends (None: until lifted)
    role: str | None = None  # for `role`
    modes: tuple[str, ...] = ()  # for `mode`: the room's modes now


@dataclass(frozen=True, slots=True)
class Deleted:
    """A stored message was deleted: clients drop its text."""

    id: int
    room: str | None
    by: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class Announcement:
    """An admin's message to everyone connected (not stored as chat)."""

    username: str
    message: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    timestamp: float
    actor: str
    action: str
    target: str = ""
    room: str = ""
    reason: str = ""
    until: float | None = None


@dataclass(frozen=True, slots=True)
class AuditLog:
    entries: tuple[AuditEntry, ...]
    room: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    room: str
    messages: tuple[StoredNotice, ...]
    with_: str | None = None  # a private conversation's page: with whom


@dataclass(frozen=True, slots=True)
class SearchResults:
    room: str
    query: str
    messages: tuple[StoredNotice, ...]


@dataclass(frozen=True, slots=True)
class PongReply:
    timestamp: float
    token: str | int | None = None


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """The server's own ping to a silent client."""

    timestamp: float


@dataclass(frozen=True, slots=True)
class Error:
    code: ErrorCode
    message: str


@dataclass(frozen=True, slots=True)
class Goodbye:
    message: str


@dataclass(frozen=True, slots=True)
class Done:
    """A command that has nothing else to answer succeeded (`command`: its wire type)."""

    command: str
    message: str


Notice = (
    ChatMessage
    | PrivateMessage
    | TopicChanged
    | FileShared
    | Welcome
    | UserJoined
    | UserLeft
    | UserRenamed
    | UserAway
    | WhoWasReply
    | UserList
    | RoomList
    | RoomJoined
    | RoomLeft
    | Moderated
    | Deleted
    | Announcement
    | AuditLog
    | HistoryPage
    | SearchResults
    | PongReply
    | KeepAlive
    | Error
    | Goodbye
    | Done
)
