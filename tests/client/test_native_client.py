"""The client half of the native codec, checked against the server half (no sockets)."""

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chinwag.errors import LocalProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.native import decode_command, encode_notice
from chinwag.protocol.native_client import (
    NativeClientCodec,
    UnreadableNotice,
    decode_notice,
    encode_command,
)

COMMANDS: list[ev.Command] = [
    ev.Join("alice"),
    ev.Join("alice", since=42),
    ev.Join("alice", since=42, rooms=("dev", "ops")),
    ev.Chat("hello", "general"),
    ev.Chat("in dev", "dev"),
    ev.Private("bob", "psst"),
    ev.ListUsers(),
    ev.ListUsers("dev"),
    ev.Ping(),
    ev.Ping("rtt-1"),
    ev.Ping(7),
    ev.Pong(),
    ev.Quit(),
    ev.Quit("bye"),
    ev.Rename("al"),
    ev.JoinRoom("dev"),
    ev.LeaveRoom("dev"),
    ev.ListRooms(),
    ev.SetTopic("dev", "all things dev"),
    ev.History("general", before=10, limit=5),
    ev.History("general", after=3, limit=50),
    ev.Search("general", "needle", 20),
]

CHAT = ev.ChatMessage(1, "general", "alice", "hi", 1700000000.5)
PRIVATE = ev.PrivateMessage(2, "alice", "bob", "psst", 1700000001.0, history=True)
TOPIC = ev.TopicChanged(3, "dev", "bob", "release day", 1700000002.0)

NOTICES: list[ev.Notice] = [
    CHAT,
    PRIVATE,
    TOPIC,
    ev.Welcome("alice", "Welcome!", ("alice", "bob"), ("general", "dev"), 17, 1700000000.0),
    ev.UserJoined("general", "bob", 1.0),
    ev.UserLeft("dev", "bob", 2.0, "left the room"),
    ev.UserLeft("general", "bob", 2.0),
    ev.UserRenamed("alice", "al", 3.0),
    ev.UserList(("alice", "bob")),
    ev.UserList(("alice",), "dev"),
    ev.RoomList((ev.RoomInfo("dev", 1, "x"), ev.RoomInfo("general", 2, ""))),
    ev.RoomJoined("dev", "x", ("alice",)),
    ev.RoomLeft("dev"),
    ev.HistoryPage("general", (CHAT, TOPIC)),
    ev.SearchResults("general", "hi", (CHAT,)),
    ev.PongReply(5.0, "rtt-1"),
    ev.PongReply(5.0),
    ev.KeepAlive(6.0),
    ev.Error(ErrorCode.NAME_TAKEN, "Username already taken"),
    ev.Goodbye("Goodbye, alice!"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=repr)
def test_every_command_reads_back_on_the_server(command: ev.Command):
    line = encode_command(command)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_command(line[:-1]) == command


@pytest.mark.parametrize("notice", NOTICES, ids=repr)
def test_every_notice_the_server_writes_reads_back(notice: ev.Notice):
    assert decode_notice(encode_notice(notice).rstrip(b"\n")) == notice


def test_a_stream_split_byte_by_byte_yields_the_same_notices():
    data = b"".join(encode_notice(n) for n in NOTICES)
    codec = NativeClientCodec()
    for i in range(len(data)):
        codec.receive_data(data[i : i + 1])
    codec.receive_eof()
    assert codec.events_received() == NOTICES
    assert codec.events_received() == []


def test_send_queues_bytes_until_taken():
    codec = NativeClientCodec()
    codec.send(ev.Join("alice"))
    codec.send(ev.Chat("hi"))
    data = codec.data_to_send()
    assert [orjson.loads(x)["type"] for x in data.splitlines()] == ["join", "chat"]
    assert codec.data_to_send() == b""


def test_local_misuse_raises_local_protocol_error():
    with pytest.raises(LocalProtocolError):
        encode_command(ev.BadInput(ErrorCode.BAD_JSON, "x"))
    with pytest.raises(LocalProtocolError):
        encode_command(ev.Join(None))
    codec = NativeClientCodec()
    codec.receive_eof()
    with pytest.raises(LocalProtocolError):
        codec.send(ev.Chat("too late"))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"no": "type"}', "unknown notice type"),
        (b'{"type": "surprise"}', "unknown notice type"),
        (b'{"type": "chat", "message": "hi"}', "missing field 'username'"),
        (b'{"type": "chat", "username": 3, "message": "hi"}', "wrong type"),
        (b'{"type": "chat", "username": "a", "message": "hi", "id": true}', "wrong type"),
        (b'{"type": "history", "room": "g", "messages": [1]}', "list of objects"),
        (b'{"type": "welcome", "users": [1]}', "list of names"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_unreadable_server_lines_become_events(line: bytes, reason: str):
    event = decode_notice(line)
    assert isinstance(event, UnreadableNotice), event
    assert reason in event.reason
    assert event.line == line


def test_an_overlong_line_is_reported_and_the_stream_goes_on():
    codec = NativeClientCodec(max_line=100)
    codec.receive_data(b'{"type":"goodbye","message":"' + b"x" * 200 + b'"}\n')
    codec.receive_data(encode_notice(ev.Goodbye("bye")))
    first, second = codec.events_received()
    assert isinstance(first, UnreadableNotice) and "too long" in first.reason
    assert second == ev.Goodbye("bye")


def test_seed_004_server_lines_are_understood():
    welcome = decode_notice(b'{"type": "welcome", "message": "Welcome!", "users": ["a", "b"]}')
    assert welcome == ev.Welcome("", "Welcome!", ("a", "b"), ("general",), 0, 0.0)
    chat = decode_notice(b'{"type":"chat","username":"a","message":"Hi","timestamp":1234567890}')
    assert chat == ev.ChatMessage(0, "general", "a", "Hi", 1234567890.0)
    error = decode_notice(b'{"type": "error", "message": "Username already taken"}')
    assert isinstance(error, ev.Error) and error.message == "Username already taken"


def test_an_error_code_this_client_does_not_know_is_kept():
    error = decode_notice(b'{"type":"error","code":"brand_new","message":"New rule"}')
    assert isinstance(error, ev.Error)
    assert error.code == "brand_new" and error.message == "New rule"


def test_blank_lines_are_ignored():
    codec = NativeClientCodec()
    codec.receive_data(b"\n\r\n  \n")
    assert codec.events_received() == []


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_any_bytes_become_notices_or_unreadable_events(chunks: list[bytes]):
    codec = NativeClientCodec(max_line=128)
    for chunk in chunks:
        codec.receive_data(chunk)
    codec.receive_eof()
    for event in codec.events_received():
        assert isinstance(event, UnreadableNotice) or type(event).__module__ == ev.__name__


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_any_json_value_under_a_known_type_never_crashes(value: object):
    for kind in ("chat", "private", "topic", "welcome", "rooms", "history", "error", "pong"):
        for key in ("message", "username", "users", "rooms", "messages", "id", "code", "token"):
            line = json.dumps({"type": kind, key: value}).encode()
            decode_notice(line)  # must not raise
