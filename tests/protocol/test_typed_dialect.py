import time
from typing import Any

import orjson
import pytest

from chinwag.protocol import events as ev
from chinwag.protocol.common import NAME_ERRORS
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.typed import TypedCodec, clock
from tests.protocol.support import addressed, feed

T = 1_700_000_000.25
HHMMSS = time.strftime("%H:%M:%S", time.localtime(T))


def joined(name: str = "Alice") -> TypedCodec:
    codec = TypedCodec()
    assert feed(codec, name.encode() + b"\n") == [ev.Join(name)]
    welcome = ev.Welcome(name, f"Welcome to chinwag, {name}!", (name,), ("general",), 0, T)
    assert decoded(addressed(codec, welcome, name))["users"] == [name]
    return codec


def decoded(data: bytes) -> dict[str, Any]:
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    obj = orjson.loads(data)
    assert isinstance(obj, dict)
    return obj


def test_first_line_is_the_bare_username_then_seed_commands():
    codec = TypedCodec()
    events = feed(
        codec,
        b"Alice\n"
        b'{"type":"message","message":"Hello everyone!"}\n'
        b'{"type":"private","target":"Bob","message":"Hi there!"}\n'
        b'{"type":"list_users"}\n',
    )
    assert events == [
        ev.Join("Alice"),
        ev.Chat("Hello everyone!"),
        ev.Private("Bob", "Hi there!"),
        ev.ListUsers(),
    ]


def test_a_json_first_line_with_username_names_the_client():
    assert feed(TypedCodec(), b'{"username": "Alice"}\n') == [ev.Join("Alice")]


def test_speaking_before_naming_is_refused_and_naming_still_possible():
    codec = TypedCodec()
    (event,) = feed(codec, b'{"type":"message","message":"hi"}\n')
    assert isinstance(event, ev.BadInput) and event.code == ErrorCode.NOT_JOINED
    assert feed(codec, b"Alice\n") == [ev.Join("Alice")]


@pytest.mark.parametrize("code", sorted(NAME_ERRORS))
def test_a_refused_name_lets_the_next_line_try_again(code: ErrorCode):
    codec = TypedCodec()
    assert feed(codec, b"Alice\n") == [ev.Join("Alice")]
    addressed(codec, ev.Error(code, "Refused"), None)
    assert feed(codec, b"Alice2\n") == [ev.Join("Alice2")]


def test_once_welcomed_a_bare_line_is_not_a_name():
    codec = joined("Alice")
    addressed(codec, ev.Error(ErrorCode.NAME_TAKEN, "Username already taken"), "Alice")
    (event,) = feed(codec, b"Alice2\n")
    assert isinstance(event, ev.BadInput) and event.code == ErrorCode.BAD_JSON


def test_bad_lines_become_bad_input():
    codec = joined()
    cases = {
        b"hello": ErrorCode.BAD_JSON,
        b"[1]": ErrorCode.NOT_OBJECT,
        b"\xff{": ErrorCode.BAD_UTF8,
        b'{"message":"x"}': ErrorCode.MISSING_FIELD,
        b'{"type":"dance"}': ErrorCode.UNKNOWN_TYPE,
        b'{"type":"message"}': ErrorCode.MISSING_FIELD,
        b'{"type":"message","message":5}': ErrorCode.INVALID_FIELD,
        b'{"type":"private","message":"x"}': ErrorCode.MISSING_FIELD,
    }
    for line, code in cases.items():
        (event,) = feed(codec, line + b"\n")
        assert isinstance(event, ev.BadInput) and event.code == code, (line, event)


def test_broadcasts_reach_others_in_the_seed_shape_but_not_their_sender():
    codec = joined("Bob")
    notice = ev.ChatMessage(7, "general", "Alice", "Hello everyone!", T)
    assert decoded(codec.render(notice, "Bob")) == {
        "type": "message",
        "sender": "Alice",
        "message": "Hello everyone!",
        "timestamp": HHMMSS,
    }
    assert codec.share_key(notice, "Alice") is None and codec.render(notice, "Alice") == b""
    replay = ev.ChatMessage(7, "general", "Alice", "Hello everyone!", T, history=True)
    assert decoded(codec.render(replay, "Alice"))["sender"] == "Alice"


def test_private_messages_and_confirmation():
    codec = joined("Bob")
    notice = ev.PrivateMessage(8, "Alice", "Bob", "Hi there!", T)
    assert decoded(codec.render(notice, "Bob")) == {
        "type": "private",
        "sender": "Alice",
        "message": "Hi there!",
        "timestamp": HHMMSS,
    }
    assert decoded(codec.render(notice, "Alice"))["target"] == "Bob"


def test_system_lines_for_joins_leaves_and_errors():
    codec = joined("Bob")
    assert decoded(codec.render(ev.UserJoined("general", "Alice", T), "Bob")) == {
        "type": "system",
        "message": "Alice joined the chat",
        "timestamp": HHMMSS,
    }
    left = decoded(codec.render(ev.UserLeft("general", "Alice", T), "Bob"))
    assert left["message"] == "Alice left the chat"
    error = decoded(addressed(codec, ev.Error(ErrorCode.BAD_JSON, "Line is not valid JSON"), "Bob"))
    assert error["type"] == "system" and error["error"] == "bad_json"
    assert codec.render(ev.KeepAlive(T), "Bob") == b""


def test_list_users_answer_names_everyone():
    obj = decoded(joined().render(ev.UserList(("Alice", "Bob")), "Alice"))
    assert obj["type"] == "list_users" and obj["users"] == ["Alice", "Bob"]
    assert "Alice" in obj["message"] and "Bob" in obj["message"]


def test_clock_is_local_hh_mm_ss():
    assert clock(T) == HHMMSS and len(clock(0)) == 8
