"""The native schema: declared once, read back the same by both halves, bytes unchanged."""

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.native import decode_command, encode_notice
from chinwag.protocol.native_client import UnreadableNotice, decode_notice, encode_command
from chinwag.protocol.schema import COMMANDS, NOTICES
from tests.protocol.notices import NOTICES as SAMPLE_NOTICES

# What the client wrote for each command before the schema (recorded from the old code).
CLIENT_BYTES: list[tuple[ev.Command, bytes]] = [
    (ev.Join("alice"), b'{"type":"join","username":"alice"}\n'),
    (ev.Join("alice", 42), b'{"type":"join","username":"alice","since":42}\n'),
    (ev.Join("alice", 0), b'{"type":"join","username":"alice","since":0}\n'),
    (ev.Chat("hello"), b'{"type":"chat","message":"hello","room":"general"}\n'),
    (ev.Chat("in dev", "dev"), b'{"type":"chat","message":"in dev","room":"dev"}\n'),
    (ev.Private("bob", "psst"), b'{"type":"private","target":"bob","message":"psst"}\n'),
    (ev.ListUsers(), b'{"type":"list_users"}\n'),
    (ev.ListUsers("dev"), b'{"type":"list_users","room":"dev"}\n'),
    (ev.Ping(), b'{"type":"ping"}\n'),
    (ev.Ping("rtt-1"), b'{"type":"ping","token":"rtt-1"}\n'),
    (ev.Ping(7), b'{"type":"ping","token":7}\n'),
    (ev.Pong(), b'{"type":"pong"}\n'),
    (ev.Quit(), b'{"type":"quit"}\n'),
    (ev.Quit("bye"), b'{"type":"quit","message":"bye"}\n'),
    (ev.Rename("al"), b'{"type":"nick","username":"al"}\n'),
    (ev.JoinRoom("dev"), b'{"type":"join_room","room":"dev"}\n'),
    (ev.LeaveRoom("dev"), b'{"type":"leave_room","room":"dev"}\n'),
    (ev.ListRooms(), b'{"type":"rooms"}\n'),
    (
        ev.SetTopic("dev", "all things dev"),
        b'{"type":"topic","room":"dev","topic":"all things dev"}\n',
    ),
    (ev.History("general"), b'{"type":"history","room":"general","limit":50}\n'),
    (
        ev.History("general", before=10, limit=5),
        b'{"type":"history","room":"general","limit":5,"before":10}\n',
    ),
    (
        ev.History("dev", 3, 9, 500),
        b'{"type":"history","room":"dev","limit":500,"before":3,"after":9}\n',
    ),
    (
        ev.Search("general", "needle", 20),
        b'{"type":"search","room":"general","query":"needle","limit":20}\n',
    ),
    # New: rooms to be put back in, only when there are some.
    (
        ev.Join("alice", 7, ("dev", "ops")),
        b'{"type":"join","username":"alice","since":7,"rooms":["dev","ops"]}\n',
    ),
    (ev.Join("alice", None, ("dev",)), b'{"type":"join","username":"alice","rooms":["dev"]}\n'),
    # New with accounts.
    (
        ev.Join("alice", password="s3cret!!"),
        b'{"type":"join","username":"alice","password":"s3cret!!"}\n',
    ),
    (
        ev.Join("alice", 9, token="tok"),
        b'{"type":"join","username":"alice","since":9,"token":"tok"}\n',
    ),
    (
        ev.Register("alice", "s3cret!!"),
        b'{"type":"register","username":"alice","password":"s3cret!!"}\n',
    ),
    (ev.Logout(), b'{"type":"logout"}\n'),
    (ev.ChangePassword("a", "b"), b'{"type":"password","old":"a","new":"b"}\n'),
    (
        ev.History("general", limit=20, with_="bob"),
        b'{"type":"history","room":"general","limit":20,"with":"bob"}\n',
    ),
    # New with moderation.
    (
        ev.SetRole("bob", "operator", "dev"),
        b'{"type":"set_role","username":"bob","role":"operator","room":"dev"}\n',
    ),
    (ev.SetRole("bob", "moderator"), b'{"type":"set_role","username":"bob","role":"moderator"}\n'),
    (
        ev.Kick("dev", "bob", "spam"),
        b'{"type":"kick","room":"dev","username":"bob","reason":"spam"}\n',
    ),
    (
        ev.Ban("bob", "dev", 60, "spam"),
        b'{"type":"ban","username":"bob","room":"dev","duration":60,"reason":"spam"}\n',
    ),
    (ev.Ban("bob"), b'{"type":"ban","username":"bob"}\n'),
    (ev.Unban("bob", "dev"), b'{"type":"unban","username":"bob","room":"dev"}\n'),
    (
        ev.Mute("dev", "bob", 30),
        b'{"type":"mute","room":"dev","username":"bob","duration":30}\n',
    ),
    (ev.Unmute("dev", "bob"), b'{"type":"unmute","room":"dev","username":"bob"}\n'),
    (
        ev.RoomMode("dev", invite_only=True, topic_locked=False),
        b'{"type":"room_mode","room":"dev","invite_only":true,"topic_locked":false}\n',
    ),
    (ev.Invite("dev", "bob"), b'{"type":"invite","room":"dev","username":"bob"}\n'),
    (ev.DeleteMessage(12), b'{"type":"delete_message","id":12}\n'),
    (ev.Announce("maintenance at 6"), b'{"type":"announce","message":"maintenance at 6"}\n'),
    (ev.Audit("dev", 1.5, 10), b'{"type":"audit","room":"dev","since":1.5,"limit":10}\n'),
    # New with the IRC gateway's away state.
    (ev.Away("lunch"), b'{"type":"away","message":"lunch"}\n'),
    (ev.Away(), b'{"type":"away"}\n'),
    (ev.WhoWas("bob"), b'{"type":"whowas","username":"bob"}\n'),
    (ev.WhoWas("bob", 3), b'{"type":"whowas","username":"bob","limit":3}\n'),
]

# Notices added with accounts (the render table of the seed dialects predates them).
ACCOUNT_NOTICES: dict[str, ev.Notice] = {
    "welcome_account": ev.Welcome(
        "alice", "Welcome!", ("alice", "bob"), ("general",), 3, 1.5, ("alice",), False,
        "alice", "tok",
    ),
    "welcome_guest": ev.Welcome("bob", "Welcome!", ("bob",), ("general",), 0, 1.5, (), True),
    "users_accounts": ev.UserList(("alice", "bob"), None, ("alice",)),
    "room_joined_accounts": ev.RoomJoined("dev", "", ("alice",), ("alice",)),
    "history_with": ev.HistoryPage("", (), "bob"),
    "done": ev.Done("password", "Your password was changed"),
    "moderated_kick": ev.Moderated(3, "kick", "alice", 1.5, "dev", "bob", "spam"),
    "moderated_ban": ev.Moderated(4, "ban", "alice", 1.5, None, "bob", "", 61.5),
    "moderated_mode": ev.Moderated(5, "mode", "alice", 1.5, "dev", modes=("invite_only",)),
    "moderated_role": ev.Moderated(6, "role", "alice", 1.5, "dev", "bob", role="voice"),
    "room_joined_roles": ev.RoomJoined(
        "dev", "", ("alice", "bob"), ("alice", "bob"), ("alice",), ("bob",), ("moderated",)
    ),
    "deleted": ev.Deleted(12, "dev", "alice", 1.5),
    "tombstone": ev.ChatMessage(12, "dev", "bob", "", 1.5, True, True),
    "announcement": ev.Announcement("alice", "maintenance at 6", 1.5),
    "audit": ev.AuditLog(
        (ev.AuditEntry(1, 1.5, "alice", "ban", "bob", "dev", "spam", 61.5),
         ev.AuditEntry(2, 2.5, "alice", "announce")),
        "dev",
    ),
    # Added with the IRC gateway: who set a topic and when, who is signed in, away state.
    "room_joined_topic": ev.RoomJoined("dev", "t", ("bob",), topic_by="bob", topic_at=2.5),
    "rooms_topic": ev.RoomList((ev.RoomInfo("dev", 1, "t", "bob", 2.5),)),
    "chat_signed_in": ev.ChatMessage(13, "dev", "bob", "hi", 1.5, signed_in=True),
    "joined_signed_in": ev.UserJoined("dev", "bob", 1.5, True),
    "renamed_signed_in": ev.UserRenamed("guest", "bob", 1.5, True),
    "private_to_away": ev.PrivateMessage(14, "alice", "bob", "hi", 1.5, away="lunch"),
    "away": ev.UserAway("bob", "lunch", 1.5),
    "back": ev.UserAway("bob", "", 1.5),
    "whowas": ev.WhoWasReply("bob", (ev.SignedOff("bob", 2.5, True), ev.SignedOff("Bob", 1.5))),
    "whowas_nobody": ev.WhoWasReply("ghost"),
    "users_away": ev.UserList(("alice", "bob"), "dev", (), (ev.Absent("bob", "lunch"),)),
}  # fmt: skip


def test_every_event_type_has_one_schema_entry():
    commands = {s.event for s in COMMANDS}
    notices = {s.event for s in NOTICES}
    assert commands == set(ev.Command.__args__) - {ev.BadInput}
    assert notices == set(ev.Notice.__args__)
    assert len(commands) == len(COMMANDS) and len(notices) == len(NOTICES)
    names = [s.name for s in COMMANDS]
    assert len(set(names)) == len(names)
    for shape in (*COMMANDS, *NOTICES):
        shape.decoded()  # the declared fields are exactly the event's


@pytest.mark.parametrize(("command", "line"), CLIENT_BYTES, ids=repr)
def test_client_bytes_are_unchanged_and_read_back_on_the_server(command: ev.Command, line):
    assert encode_command(command) == line
    assert decode_command(line[:-1]) == command


ALL_NOTICES = {**SAMPLE_NOTICES, **ACCOUNT_NOTICES}


@pytest.mark.parametrize("notice", ALL_NOTICES.values(), ids=list(ALL_NOTICES))
def test_every_notice_reads_back_on_the_client(notice: ev.Notice):
    assert decode_notice(encode_notice(notice)[:-1]) == notice


def test_a_guest_welcome_says_so_and_an_account_welcome_carries_its_token():
    guest = orjson.loads(encode_notice(ACCOUNT_NOTICES["welcome_guest"]))
    assert guest["guest"] is True and "token" not in guest and "account" not in guest
    account = orjson.loads(encode_notice(ACCOUNT_NOTICES["welcome_account"]))
    assert (account["account"], account["token"], account["accounts"]) == (
        "alice",
        "tok",
        ["alice"],
    )
    assert "guest" not in account


def test_passwords_and_tokens_never_show_in_a_repr():
    assert "s3cret" not in repr(ev.Join("alice", password="s3cret", token="t0ken"))
    assert "t0ken" not in repr(ev.Join("alice", token="t0ken"))
    assert "s3cret" not in repr(ev.Register("alice", "s3cret"))
    assert "s3cret" not in repr(ev.ChangePassword("s3cret", "s3cret"))


def test_the_examples_cover_every_type():
    commands = {type(c) for c, _ in CLIENT_BYTES}
    notices = {type(n) for n in ALL_NOTICES.values()}
    assert commands == set(ev.Command.__args__) - {ev.BadInput}
    assert notices == set(ev.Notice.__args__)


texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
names = texts.filter(bool)  # an empty room is read as the default room
ids = st.integers(0, 2**63 - 1)
tokens = st.one_of(st.none(), texts, st.integers(-(2**63), 2**64 - 1))

COMMAND_STRATEGIES = st.one_of(
    st.builds(
        ev.Join,
        names,
        st.none() | ids,
        st.lists(texts, max_size=100).map(tuple),
    ),
    st.builds(ev.Chat, texts, names),
    st.builds(ev.Private, texts, texts),
    st.builds(ev.ListUsers, st.none() | texts),
    st.builds(ev.Ping, tokens),
    st.builds(ev.Quit, st.none() | texts),
    st.builds(ev.Rename, texts),
    st.builds(ev.SetTopic, texts, texts),
    st.builds(ev.History, names, st.none() | ids, st.none() | ids, ids),
    st.builds(ev.Search, names, texts, ids),
)


@given(COMMAND_STRATEGIES)
def test_any_command_round_trips(command: ev.Command):
    line = encode_command(command)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_command(line[:-1]) == command


stamps = st.floats(allow_nan=False, allow_infinity=False)
stored = st.one_of(
    st.builds(ev.ChatMessage, ids, texts, texts, texts, stamps, st.booleans()),
    st.builds(ev.PrivateMessage, ids, texts, texts, texts, stamps, st.booleans()),
    st.builds(ev.TopicChanged, ids, texts, texts, texts, stamps, st.booleans()),
)
NOTICE_STRATEGIES = st.one_of(
    stored,
    st.builds(
        ev.Welcome,
        texts,
        texts,
        st.lists(texts).map(tuple),
        st.lists(texts, min_size=1).map(tuple),
        ids,
        stamps,
    ),
    st.builds(ev.UserLeft, texts, texts, stamps, texts),
    st.builds(ev.UserRenamed, texts, texts, stamps),
    st.builds(ev.UserList, st.lists(texts).map(tuple), st.none() | texts),
    st.builds(
        ev.RoomList, st.lists(st.builds(ev.RoomInfo, texts, ids, texts), max_size=3).map(tuple)
    ),
    st.builds(ev.SearchResults, texts, texts, st.lists(stored, max_size=3).map(tuple)),
    st.builds(ev.PongReply, stamps, tokens),
    st.builds(ev.Error, st.sampled_from(ErrorCode), texts),
)


@given(NOTICE_STRATEGIES)
def test_any_notice_round_trips(notice: ev.Notice):
    line = encode_notice(notice)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_notice(line[:-1]) == notice


def test_presence_messages_are_computed_on_output_only():
    joined = orjson.loads(encode_notice(ev.UserJoined("dev", "bob", 1.0)))
    assert joined["message"] == "bob joined the chat"
    renamed = orjson.loads(encode_notice(ev.UserRenamed("a", "b", 1.0)))
    assert renamed["message"] == "a is now known as b" and renamed["username"] == "b"
    # A client ignores them on input (they are not part of the event).
    line = b'{"type":"user_joined","username":"bob","message":"whatever"}'
    assert decode_notice(line) == ev.UserJoined("general", "bob", 0.0)


def test_lenient_decoding_keeps_going_where_strict_would_refuse():
    assert decode_notice(b'{"type":"pong","timestamp":1,"token":true}') == ev.PongReply(1.0)
    chat = decode_notice(b'{"type":"chat","username":"a","message":"m","history":"yes"}')
    assert chat == ev.ChatMessage(0, "general", "a", "m", 0.0)
    welcome = decode_notice(b'{"type":"welcome","rooms":[]}')
    assert isinstance(welcome, ev.Welcome) and welcome.rooms == ("general",)
    error = decode_notice(b'{"type":"error","code":"bad_json"}')
    assert error == ev.Error(ErrorCode.BAD_JSON, "bad_json")
    assert decode_notice(b'{"type":"error"}') == ev.Error("", "error")  # type: ignore[arg-type]
    page = decode_notice(b'{"type":"history","messages":[{"type":"nick"}]}')
    assert isinstance(page, UnreadableNotice) and "'nick' is not a stored message" in page.reason
    page = decode_notice(b'{"type":"history","messages":[{"type":["chat"]}]}')
    assert isinstance(page, UnreadableNotice)
    rooms = decode_notice(b'{"type":"rooms","rooms":[{"room":"dev"}]}')
    assert rooms == ev.RoomList((ev.RoomInfo("dev", 0, ""),))
