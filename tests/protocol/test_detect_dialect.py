import pytest

from chinwag.protocol import events as ev
from chinwag.protocol.detect import DetectingCodec, sniff
from chinwag.protocol.dialects import DIALECTS, codec_factory
from chinwag.protocol.events import ErrorCode


@pytest.mark.parametrize(
    ("line", "dialect"),
    [
        (b'{"type":"join","username":"alice"}', "native"),
        (b' {"type": "chat"} ', "native"),
        (b'{"username":"carol","message":"hey"}', "basic"),
        (b'{"username":"carol","message":"","type":"chat"}', "native"),
        (b"USER|pete", "pipe"),
        (b"Hello World", "plain"),
        (b'{"username":"carol"}', "plain"),
        (b"{not json", "plain"),
        (b"", "plain"),
        (b"\xff\xfe", None),
        (b"USER|\xff", "pipe"),
    ],
)
def test_sniff(line: bytes, dialect: str | None):
    assert sniff(line) == dialect


def test_nothing_is_sent_before_the_first_line():
    codec = DetectingCodec()
    assert codec.greeting() == b""
    codec.receive_data(b"Hello Wor")
    assert codec.events_received() == [] and codec.detected is None


def test_plain_first_line_is_the_first_message():
    codec = DetectingCodec()
    codec.receive_data(b"Hello World\n/users\n")
    assert codec.detected == "plain"
    assert codec.events_received() == [ev.Join(None), ev.Chat("Hello World"), ev.ListUsers()]


def test_basic_first_line_names_and_speaks():
    codec = DetectingCodec()
    codec.receive_data(b'{"username":"carol","message":"hey"}\n')
    assert codec.events_received() == [ev.Join("carol"), ev.Chat("hey")]
    welcome = ev.Welcome("carol", "Welcome!", ("carol",), ("general",), 0, 1.0)
    assert b'"username":"[server]"' in codec.encode(welcome)
    assert codec.username == "carol"


def test_native_and_pipe_are_delegated_whole():
    native = DetectingCodec()
    native.receive_data(b'{"type":"join","username":"a"}\n{"type":"ping"}\n')
    assert native.events_received() == [ev.Join("a"), ev.Ping()]
    pipe = DetectingCodec()
    pipe.receive_data(b"USER|pete\nMSG|hi\n")
    assert pipe.events_received() == [ev.Join("pete"), ev.Chat("hi")]
    assert pipe.encode(ev.Error(ErrorCode.EMPTY_MESSAGE, "Message is empty")) == (
        b"ERROR|Message is empty\n"
    )


def test_a_first_line_over_the_limit_is_answered_and_the_next_line_decides():
    codec = DetectingCodec(max_line=32)
    codec.receive_data(b"x" * 100 + b"\nUSER|pete\n")
    (too_long, join) = codec.events_received()
    assert isinstance(too_long, ev.BadInput) and too_long.code == ErrorCode.LINE_TOO_LONG
    assert join == ev.Join("pete") and codec.detected == "pipe"


def test_the_limit_holds_after_detection():
    codec = DetectingCodec(max_line=32)
    codec.receive_data(b"USER|pete\nMSG|" + b"x" * 100 + b"\nDIR\n")
    events = codec.events_received()
    assert events[0] == ev.Join("pete")
    assert isinstance(events[1], ev.BadInput) and events[1].code == ErrorCode.LINE_TOO_LONG
    assert events[2] == ev.ListUsers()


def test_the_chosen_codec_takes_over_an_unfinished_line():
    # A server drops the detecting shell once decided and feeds the chosen codec directly.
    codec = DetectingCodec(max_line=32)
    codec.receive_data(b'{"type":"join","username":"a"}\n{"type":"pi')
    assert codec.events_received() == [ev.Join("a")]
    inner = codec.inner
    assert inner is not None and inner.buffered() == len(b'{"type":"pi')
    inner.receive_data(b'ng"}\n{"type":"pong"}')
    assert inner.events_received() == [ev.Ping()]
    inner.receive_eof()
    assert inner.events_received() == [ev.Pong()]


def test_the_shell_keeps_working_after_the_choice():
    codec = DetectingCodec(max_line=10)
    codec.receive_data(b"USER|pe")
    codec.receive_data(b"te\nMSG|" + b"x" * 20)
    assert codec.events_received() == [ev.Join("pete")]
    codec.receive_data(b"\nMSG|h")
    (too_long,) = codec.events_received()
    assert isinstance(too_long, ev.BadInput) and too_long.code == ErrorCode.LINE_TOO_LONG
    assert codec.buffered() == len(b"MSG|h")
    codec.receive_eof()
    assert codec.events_received() == [ev.Chat("h")] and codec.eof


def test_a_first_line_that_is_not_utf8_is_answered_in_native_form():
    codec = DetectingCodec()
    codec.receive_data(b"\xff\xfe\n")
    (event,) = codec.events_received()
    assert isinstance(event, ev.BadInput) and event.code == ErrorCode.BAD_UTF8
    assert codec.detected is None
    assert codec.encode(ev.Error(event.code, event.message)).startswith(b'{"type":"error"')


def test_every_dialect_is_registered():
    assert set(DIALECTS) == {"native", "typed", "plain", "pipe", "basic", "auto"}
    assert codec_factory("auto")().dialect == "auto"
    with pytest.raises(ValueError, match="unknown dialect"):
        codec_factory("klingon")
