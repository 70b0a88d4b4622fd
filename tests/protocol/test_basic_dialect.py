import orjson
import pytest

from chinwag.protocol import events as ev
from chinwag.protocol.basic import SERVER_NAME, BasicCodec
from chinwag.protocol.common import NAME_ERRORS
from chinwag.protocol.events import ErrorCode
from tests.protocol.support import addressed, feed


def joined(name: str = "carol") -> BasicCodec:
    codec = BasicCodec()
    feed(codec, orjson.dumps({"username": name, "message": ""}) + b"\n")
    addressed(codec, ev.Welcome(name, f"Welcome, {name}!", (name,), ("general",), 0, 1.0), name)
    return codec


def test_first_line_names_the_client_and_may_say_something():
    codec = BasicCodec()
    assert feed(codec, b'{"username":"carol","message":"hey"}\n') == [
        ev.Join("carol"),
        ev.Chat("hey"),
    ]
    assert feed(codec, b'{"username":"carol","message":"again"}\n') == [ev.Chat("again")]


def test_an_empty_first_message_only_names():
    assert feed(BasicCodec(), b'{"username":"carol","message":""}\n') == [ev.Join("carol")]
    assert feed(BasicCodec(), b'{"username":"carol"}\n') == [ev.Join("carol")]


def test_later_lines_cannot_change_the_speaker():
    codec = joined("carol")
    assert feed(codec, b'{"username":"mallory","message":"hi"}\n') == [ev.Chat("hi")]


@pytest.mark.parametrize("code", sorted(NAME_ERRORS))
def test_a_refused_name_lets_the_next_line_try_again(code: ErrorCode):
    codec = BasicCodec()
    feed(codec, b'{"username":"carol","message":""}\n')
    addressed(codec, ev.Error(code, "Refused"), None)
    assert feed(codec, b'{"username":"carol2","message":"x"}\n') == [
        ev.Join("carol2"),
        ev.Chat("x"),
    ]


def test_a_name_error_after_the_welcome_does_not_ask_for_a_name_again():
    codec = joined("carol")
    addressed(codec, ev.Error(ErrorCode.INVALID_NAME, "Bad name"), "carol")
    assert feed(codec, b'{"username":"dave","message":"x"}\n') == [ev.Chat("x")]


def test_bad_lines_become_bad_input():
    cases = {
        b"hey": ErrorCode.BAD_JSON,
        b"[]": ErrorCode.NOT_OBJECT,
        b'{"message":"no name"}': ErrorCode.MISSING_FIELD,
        b'{"username":5,"message":"x"}': ErrorCode.INVALID_FIELD,
        b'{"username":"c","message":5}': ErrorCode.INVALID_FIELD,
        b"\xc3\x28": ErrorCode.BAD_UTF8,
    }
    for line, code in cases.items():
        (event,) = feed(BasicCodec(), line + b"\n")
        assert isinstance(event, ev.BadInput) and event.code == code, (line, event)
    (event,) = feed(joined(), b'{"username":"carol"}\n')
    assert isinstance(event, ev.BadInput) and event.code == ErrorCode.MISSING_FIELD


def test_everything_goes_out_as_username_and_message():
    codec = joined("dave")
    chat = ev.ChatMessage(1, "general", "carol", "hey", 1.0)
    assert orjson.loads(codec.render(chat, "dave")) == {"username": "carol", "message": "hey"}
    assert codec.render(chat, "carol") == b""
    joined_line = orjson.loads(codec.render(ev.UserJoined("general", "erin", 1.0), "dave"))
    assert joined_line == {"username": SERVER_NAME, "message": "erin joined the chat"}
    error = ev.Error(ErrorCode.EMPTY_MESSAGE, "Message is empty")
    decoded = orjson.loads(addressed(codec, error, "dave"))
    assert decoded["username"] == SERVER_NAME and decoded["error"] == "empty_message"
    assert codec.render(ev.KeepAlive(1.0), "dave") == b""
