import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.native import NativeCodec, decode_command, encode_notice
from tests.protocol.support import Lines

_TYPES = ["join", "chat", "private", "list_users", "ping", "pong", "quit", "nick"]
_TYPES += ["join_room", "leave_room", "rooms", "topic", "history", "search"]


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
        (b'{"type":"chat","message":"x","room":""}', ev.Chat("x")),
        (b'{"type":"chat","message":"x","room":null}', ev.Chat("x")),
        (b'{"type":"list_users","room":""}', ev.ListUsers("")),
        (b'{"type":"ping","token":"t"}', ev.Ping("t")),
        (b'{"type":"quit","message":"bye"}', ev.Quit("bye")),
        (b'{"type":"history","after":0,"limit":0}', ev.History("general", None, 0, 0)),
        (
            b'{"type":"join","username":"a","rooms":["dev","ops"]}',
            ev.Join("a", None, ("dev", "ops")),
        ),
        (b'{"type":"join","username":"a","rooms":[]}', ev.Join("a")),
        (b'{"type":"join","username":"a","rooms":null,"x":1}', ev.Join("a")),
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


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"type":"chat"}', "Missing field 'message'"),
        (b'{"type":"chat","message":12}', "Field 'message' must be a string"),
        (b'{"type":"chat","message":"x","room":5}', "Field 'room' must be a string"),
        (b'{"type":"ping","token":true}', "Field 'token' must be a string or an integer"),
        (b'{"type":"ping","token":1.5}', "Field 'token' must be a string or an integer"),
        (b'{"type":"history","limit":"5"}', "Field 'limit' must be an integer"),
        (b'{"type":"history","before":-1}', "Field 'before' must not be negative"),
        (b'{"type":"topic","topic":"t"}', "Missing field 'room'"),
        (b'{"type": 5}', "Field 'type' must be a string"),
        (b'{"x": 5}', "Missing field 'type'"),
        (b'{"type":"dance"}', "Unknown message type 'dance'"),
        (b'{"type":"' + b"d" * 50 + b'"}', "Unknown message type '" + "d" * 40 + "...'"),
        (b"nope", "Line is not valid JSON"),
        (b"\xff", "Line is not valid UTF-8"),
        (b"[]", "Line must be a JSON object"),
    ],
)
def test_error_messages_are_exact(line: bytes, message: str):
    result = decode(line)
    assert isinstance(result, ev.BadInput) and result.message == message


@pytest.mark.parametrize("key", ["since"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"0", 0),
        (b"9223372036854775807", 2**63 - 1),
        (b"9223372036854775808", "Field '{}' is out of range"),
        (b"18446744073709551615", "Field '{}' is out of range"),
        (b"18446744073709551616", "Field '{}' must be an integer"),  # JSON reads it as a float
        (b"-1", "Field '{}' must not be negative"),
        (b"-9223372036854775809", "Field '{}' must be an integer"),
        (b"true", "Field '{}' must be an integer"),
        (b"false", "Field '{}' must be an integer"),
        (b"1.0", "Field '{}' must be an integer"),
    ],
)
def test_integer_fields_are_64_bit_and_never_bool(key: str, value: bytes, expected):
    line = b'{"type":"join","username":"a","%s":%s}' % (key.encode(), value)
    result = decode(line)
    if isinstance(expected, int):
        assert result == ev.Join("a", expected)
    else:
        assert result == ev.BadInput(ErrorCode.INVALID_FIELD, expected.format(key))


@pytest.mark.parametrize("key", ["before", "after", "limit"])
def test_every_id_and_limit_field_is_range_checked(key: str):
    for value, message in [
        (b"-1", "must not be negative"),
        (b"9223372036854775808", "is out of range"),
        (b"true", "must be an integer"),
    ]:
        result = decode(b'{"type":"history","%s":%s}' % (key.encode(), value))
        assert result == ev.BadInput(ErrorCode.INVALID_FIELD, f"Field '{key}' {message}")
    top = decode(b'{"type":"history","%s":9223372036854775807}' % key.encode())
    assert isinstance(top, ev.History) and getattr(top, key) == 2**63 - 1
    limit = decode(b'{"type":"search","query":"q","limit":-1}')
    assert limit == ev.BadInput(ErrorCode.INVALID_FIELD, "Field 'limit' must not be negative")


@pytest.mark.parametrize(
    ("rooms", "message"),
    [
        (b'"dev"', "Field 'rooms' must be a list of strings"),
        (b'{"dev": 1}', "Field 'rooms' must be a list of strings"),
        (b'["dev", 5]', "Field 'rooms' must be a list of strings"),
        (b'["dev", null]', "Field 'rooms' must be a list of strings"),
        (b'[["dev"]]', "Field 'rooms' must be a list of strings"),
        (orjson.dumps([f"r{i}" for i in range(101)]), "Field 'rooms' may hold at most 100 entries"),
    ],
)
def test_join_rooms_must_be_a_short_list_of_strings(rooms: bytes, message: str):
    result = decode(b'{"type":"join","username":"a","rooms":%s}' % rooms)
    assert result == ev.BadInput(ErrorCode.INVALID_FIELD, message)
    hundred = tuple(f"r{i}" for i in range(100))
    line = b'{"type":"join","username":"a","rooms":%s}' % orjson.dumps(list(hundred))
    assert decode(line) == ev.Join("a", None, hundred)


def test_codec_reports_long_lines_and_keeps_going():
    lines = Lines(NativeCodec(), max_line=64)
    events = lines.feed(b'{"type":"chat","message":"' + b"x" * 200 + b'"}\n{"type":"ping"}\n')
    assert events[0] == ev.BadInput(
        ErrorCode.LINE_TOO_LONG, "Line too long (228 bytes; the limit is 64)"
    )
    assert events[1] == ev.Ping()


def test_codec_ignores_blank_lines_and_handles_crlf():
    assert Lines(NativeCodec()).feed(b'\r\n\n \t\n{"type":"ping"}\r\n') == [ev.Ping()]


def test_codec_decodes_last_line_at_eof():
    lines = Lines(NativeCodec())
    assert lines.feed(b'{"type":"quit"}') == []
    assert lines.finish() == [ev.Quit()]
    assert lines.codec.events_received() == []


def test_a_codec_takes_whole_messages_without_a_terminator():
    codec = NativeCodec()
    codec.receive_message(b'{"type":"chat","message":"a\\nb"}')
    codec.receive_too_long(70_000, 65_536)
    assert codec.events_received() == [
        ev.Chat("a\nb"),
        ev.BadInput(ErrorCode.LINE_TOO_LONG, "Line too long (70000 bytes; the limit is 65536)"),
    ]
    assert codec.events_received() == []


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
def test_any_bytes_become_commands(chunks: list[bytes], max_line: int):
    lines = Lines(NativeCodec(), max_line)
    events = [event for chunk in chunks for event in lines.feed(chunk)] + lines.finish()
    assert all(isinstance(event, ev.Command.__args__) for event in events)


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
    st.sampled_from([*_TYPES, "x"]),
)
def test_any_json_object_decodes_to_a_command(obj: dict[str, object], kind: str):
    obj["type"] = kind
    result = decode(json.dumps(obj).encode())
    assert isinstance(result, ev.Command.__args__)


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(max_examples=300)
@given(st.sampled_from(_TYPES), st.data())
def test_every_known_field_with_any_value_decodes_to_a_command(kind: str, data):
    keys = ["username", "since", "rooms", "message", "room", "target", "token", "topic"]
    keys += ["before", "after", "limit", "query"]
    obj = {key: data.draw(_VALUES) for key in data.draw(st.sets(st.sampled_from(keys)))}
    result = decode(json.dumps({"type": kind, **obj}).encode())
    assert isinstance(result, ev.Command.__args__)
