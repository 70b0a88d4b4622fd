import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chinwag.errors import RemoteProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.native import NativeCodec, decode_command, encode_notice


def decode(line: bytes) -> ev.Command:
    return decode_command(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"type": "join", "username": "alice"}', ev.Join("alice")),
        (b'{"type":"join","username":"alice","since":41}', ev.Join("alice", 41)),
        (b'{"type": "chat", "message": "Hello everyone!"}', ev.Chat("Hello everyone!")),
        (b'{"type":"chat","message":"x","room":"dev"}', ev.Chat("x", "dev")),
        (b'{"type":"private","target":"bob","message":"hi"}', ev.Private("bob", "hi")),
        (b'{"type":"list_users"}', ev.ListUsers()),
        (b'{"type":"ping"}', ev.Ping()),
        (b'{"type":"ping","token":7}', ev.Ping(7)),
        (b'{"type":"pong"}', ev.Pong()),
        (b'{"type":"quit"}', ev.Quit()),
        (b'{"type":"nick","username":"al"}', ev.Rename("al")),
        (b'{"type":"join_room","room":"dev"}', ev.JoinRoom("dev")),
        (b'{"type":"leave_room","room":"dev"}', ev.LeaveRoom("dev")),
        (b'{"type":"rooms"}', ev.ListRooms()),
        (b'{"type":"topic","room":"dev","topic":"t"}', ev.SetTopic("dev", "t")),
        (b'{"type":"history","room":"dev","before":9,"limit":5}', ev.History("dev", 9, None, 5)),
        (b'{"type":"history"}', ev.History("general")),
        (b'{"type":"search","query":"cat"}', ev.Search("general", "cat")),
    ],
)
def test_decodes_every_command(line: bytes, expected: ev.Command):
    assert decode(line) == expected


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"hello there", ErrorCode.BAD_JSON),
        (b'{"type": "chat", "message": "unterminated', ErrorCode.BAD_JSON),
        (b"\xff\xfe{}", ErrorCode.BAD_UTF8),
        (b'{"type":"chat","message":"\xc3\x28"}', ErrorCode.BAD_UTF8),
        (b"[1, 2]", ErrorCode.NOT_OBJECT),
        (b'"just a string"', ErrorCode.NOT_OBJECT),
        (b'{"message": "no type"}', ErrorCode.MISSING_FIELD),
        (b'{"type": 5}', ErrorCode.INVALID_FIELD),
        (b'{"type": "dance"}', ErrorCode.UNKNOWN_TYPE),
        (b'{"type": "chat"}', ErrorCode.MISSING_FIELD),
        (b'{"type": "chat", "message": 12}', ErrorCode.INVALID_FIELD),
        (b'{"type": "join", "username": "a", "since": -1}', ErrorCode.INVALID_FIELD),
        (b'{"type": "join", "username": "a", "since": true}', ErrorCode.INVALID_FIELD),
        (b'{"type": "private", "message": "x"}', ErrorCode.MISSING_FIELD),
    ],
)
def test_bad_lines_become_bad_input(line: bytes, code: ErrorCode):
    result = decode(line)
    assert isinstance(result, ev.BadInput)
    assert result.code == code
    assert result.message


def test_codec_reports_long_lines_and_keeps_going():
    codec = NativeCodec(max_line=64)
    codec.receive_data(b'{"type":"chat","message":"' + b"x" * 200 + b'"}\n{"type":"ping"}\n')
    events = codec.events_received()
    assert isinstance(events[0], ev.BadInput) and events[0].code == ErrorCode.LINE_TOO_LONG
    assert events[1] == ev.Ping()


def test_codec_ignores_blank_lines_and_handles_crlf():
    codec = NativeCodec()
    codec.receive_data(b'\r\n\n{"type":"ping"}\r\n')
    assert codec.events_received() == [ev.Ping()]


def test_codec_decodes_last_line_at_eof():
    codec = NativeCodec()
    codec.receive_data(b'{"type":"quit"}')
    assert codec.events_received() == []
    codec.receive_eof()
    assert codec.events_received() == [ev.Quit()]


def test_encodes_seed_004_shapes():
    chat = orjson.loads(encode_notice(ev.ChatMessage(3, "general", "alice", "Hello!", 12.5)))
    assert chat == {
        "type": "chat",
        "id": 3,
        "room": "general",
        "username": "alice",
        "message": "Hello!",
        "timestamp": 12.5,
    }
    joined = orjson.loads(encode_notice(ev.UserJoined("general", "bob", 1.0)))
    assert joined["type"] == "user_joined" and joined["message"] == "bob joined the chat"
    left = orjson.loads(encode_notice(ev.UserLeft("general", "bob", 1.0)))
    assert left["type"] == "user_left" and left["message"] == "bob left the chat"
    error = orjson.loads(encode_notice(ev.Error(ErrorCode.NAME_TAKEN, "Username already taken")))
    assert error == {"type": "error", "code": "name_taken", "message": "Username already taken"}
    welcome = ev.Welcome("alice", "Welcome!", ("alice", "bob"), ("general",), 0, 1.0)
    decoded = orjson.loads(encode_notice(welcome))
    assert decoded["type"] == "welcome" and decoded["users"] == ["alice", "bob"]


def test_every_line_is_one_json_object_with_newline():
    notice = ev.ChatMessage(1, "general", "a", "line\nbreak \u2028 and \U0001f600", 1.0)
    data = encode_notice(notice)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert orjson.loads(data)["message"] == notice.message


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=80), max_size=12), st.integers(1, 200))
def test_any_bytes_parse_or_raise_the_protocol_error(chunks: list[bytes], max_line: int):
    codec = NativeCodec(max_line=max_line)
    try:
        for chunk in chunks:
            codec.receive_data(chunk)
            for event in codec.events_received():
                assert isinstance(event, ev.Command.__args__)
        codec.receive_eof()
        codec.events_received()
    except RemoteProtocolError:
        pass


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=5,
    ),
    st.sampled_from(["join", "chat", "private", "history", "search", "ping", "topic", "x"]),
)
def test_any_json_object_decodes_to_a_command(obj: dict[str, object], kind: str):
    obj["type"] = kind
    result = decode(json.dumps(obj).encode())
    assert isinstance(result, ev.Command.__args__)
