"""A broad set of notices and viewers that the render tests share.

The keys name each case; tests/protocol/expected_render.py holds the bytes every dialect
wrote for each (notice, viewer) before the codecs were made table-driven.
"""

from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode

T = 1_700_000_000.25  # 22:13:20 UTC
NOW = 1_700_000_100.0  # the clock the typed dialect reads for lines without a timestamp

# Who is looking: not joined yet, the author of most samples, others, and the new names of
# the two renames (a rename is rendered after the session has its new name).
VIEWERS: tuple[str | None, ...] = (None, "alice", "bob", "robert", "dan")

_OWN_LIVE = ev.ChatMessage(20, "general", "alice", "not marked history", T)
_PAGE = (
    ev.ChatMessage(11, "general", "alice", "old one", T, True),
    ev.ChatMessage(12, "dev", "bob", "old\ntwo", T, True),
    ev.PrivateMessage(13, "alice", "bob", "old secret", T, True),
    ev.TopicChanged(14, "general", "bob", "old topic", T, True),
    _OWN_LIVE,
)

NOTICES: dict[str, ev.Notice] = {
    "chat": ev.ChatMessage(1, "general", "alice", "hi all", T),
    "chat_dev": ev.ChatMessage(2, "dev", "alice", "in dev", T),
    "chat_history": ev.ChatMessage(3, "general", "alice", "old", T, True),
    "chat_lines": ev.ChatMessage(4, "general", "bob", "a\nb\r\nc\u2028d\re", T),
    "chat_client": ev.ChatMessage(5, "general", "Client 1", "Hello World", T),
    "chat_pipe": ev.ChatMessage(6, "dev", "bob", "x|y \U0001f600", T),
    "private": ev.PrivateMessage(7, "alice", "bob", "psst", T),
    "private_back": ev.PrivateMessage(8, "bob", "alice", "back\nagain", T, True),
    "private_self": ev.PrivateMessage(9, "alice", "alice", "note to self", T),
    "private_history": ev.PrivateMessage(10, "alice", "bob", "then", T, True),
    "topic": ev.TopicChanged(15, "dev", "bob", "Release\n1.0", T),
    "topic_mine": ev.TopicChanged(16, "general", "alice", "", T, True),
    "file": ev.FileShared(
        17,
        "dev",
        "bob",
        "plan.pdf",
        12_345,
        "application/pdf",
        "http://chat.example:8080/api/files/dev/17",
        T,
        sha256="ab" * 32,
    ),
    "welcome": ev.Welcome(
        "alice", "Welcome to chinwag, alice!", ("alice", "bob"), ("general", "dev"), 41, T
    ),
    "welcome_alone": ev.Welcome("bob", "Welcome to chinwag, bob!", ("bob",), ("general",), 0, T),
    "joined": ev.UserJoined("general", "carol", T),
    "joined_dev": ev.UserJoined("dev", "carol", T),
    "left": ev.UserLeft("general", "carol", T),
    "left_dev": ev.UserLeft("dev", "carol", T, "timeout"),
    "renamed": ev.UserRenamed("alice", "robert", T),
    "renamed_client": ev.UserRenamed("Client 1", "dan", T),
    "renamed_other": ev.UserRenamed("carol", "caz", T),
    "users": ev.UserList(("alice", "bob")),
    "users_dev": ev.UserList(("alice",), "dev"),
    "users_none": ev.UserList(()),
    "rooms": ev.RoomList((ev.RoomInfo("dev", 2, "Release 1.0"), ev.RoomInfo("general", 5, ""))),
    "rooms_none": ev.RoomList(()),
    "room_joined": ev.RoomJoined("dev", "Release 1.0", ("alice", "bob")),
    "room_joined_bare": ev.RoomJoined("dev", "", ()),
    "room_left": ev.RoomLeft("dev"),
    "history": ev.HistoryPage("general", _PAGE),
    "history_empty": ev.HistoryPage("dev", ()),
    "search": ev.SearchResults("general", "old", _PAGE[:2]),
    "pong": ev.PongReply(T),
    "pong_token": ev.PongReply(T, "rtt-1"),
    "pong_int": ev.PongReply(T, 7),
    "pong_help": ev.PongReply(T, "plain:help"),
    "keepalive": ev.KeepAlive(T),
    "error_json": ev.Error(ErrorCode.BAD_JSON, "Line is not valid JSON"),
    "error_taken": ev.Error(ErrorCode.NAME_TAKEN, "Username already taken"),
    "error_invalid_name": ev.Error(ErrorCode.INVALID_NAME, "Bad name"),
    "error_not_joined": ev.Error(ErrorCode.NOT_JOINED, "Join first with a username"),
    "error_lines": ev.Error(ErrorCode.EMPTY_MESSAGE, "two\nlines"),
    "goodbye": ev.Goodbye("Goodbye, alice!"),
    "goodbye_server": ev.Goodbye("Server shutting down"),
}
