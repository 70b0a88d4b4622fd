import pytest

from chinwag.protocol import events as ev
from chinwag.protocol.detect import DetectingCodec, sniff
from chinwag.protocol.dialects import DIALECTS, codec_factory
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.native import NativeCodec
from chinwag.protocol.pipe import PipeCodec
from tests.protocol.support import Lines, addressed, feed


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
        (b"NICK alice", "irc"),
        (b"CAP LS 302", "irc"),
        (b"USER a 0 * :A", "irc"),
        (b"PASS secret", "irc"),
        (b"nick is here", "plain"),
        (b"NICKNAME", "plain"),
        (b"CAP", "plain"),
    ],
)
def test_sniff(line: bytes, dialect: str | None):
    assert sniff(line) == dialect


def test_nothing_is_sent_before_the_first_line():
    codec = DetectingCodec()
    lines = Lines(codec)
    assert codec.greeting() == b""
    assert lines.feed(b"Hello Wor") == [] and codec.detected is None


def test_plain_first_line_is_the_first_message():
    codec = DetectingCodec()
    assert feed(codec, b"Hello World\n/users\n") == [
        ev.Join(None),
        ev.Chat("Hello World"),
        ev.ListUsers(),
    ]
    assert codec.detected == "plain"


def test_basic_first_line_names_and_speaks():
    codec = DetectingCodec()
    assert feed(codec, b'{"username":"carol","message":"hey"}\n') == [
        ev.Join("carol"),
        ev.Chat("hey"),
    ]
    welcome = ev.Welcome("carol", "Welcome!", ("carol",), ("general",), 0, 1.0)
    assert b'"username":"[server]"' in addressed(codec, welcome, "carol")
    assert feed(codec, b'{"username":"x","message":"again"}\n') == [ev.Chat("again")]


def test_a_refused_name_reaches_the_chosen_codec():
    codec = DetectingCodec()
    assert feed(codec, b'{"username":"carol","message":""}\n') == [ev.Join("carol")]
    addressed(codec, ev.Error(ErrorCode.NAME_TAKEN, "Username already taken"), None)
    assert feed(codec, b'{"username":"carol2","message":""}\n') == [ev.Join("carol2")]


def test_native_and_pipe_are_delegated_whole():
    native = DetectingCodec()
    assert feed(native, b'{"type":"join","username":"a"}\n{"type":"ping"}\n') == [
        ev.Join("a"),
        ev.Ping(),
    ]
    pipe = DetectingCodec()
    assert feed(pipe, b"USER|pete\nMSG|hi\n") == [ev.Join("pete"), ev.Chat("hi")]
    error = ev.Error(ErrorCode.EMPTY_MESSAGE, "Message is empty")
    assert addressed(pipe, error, "pete") == b"ERROR|Message is empty\n"
    own = ev.ChatMessage(1, "general", "pete", "hi", 1.0)
    assert pipe.share_key(own, "pete") is None and pipe.render(own, "pete") == b"MSG_OK\n"
    assert pipe.share_key(own, "bob") is PipeCodec


def test_a_first_line_over_the_limit_is_answered_and_the_next_line_decides():
    codec = DetectingCodec()
    lines = Lines(codec, max_line=32)
    (too_long, join) = lines.feed(b"x" * 100 + b"\nUSER|pete\n")
    assert isinstance(too_long, ev.BadInput) and too_long.code == ErrorCode.LINE_TOO_LONG
    assert "the limit is 32" in too_long.message
    assert join == ev.Join("pete") and codec.detected == "pipe"


def test_the_limit_holds_after_detection():
    lines = Lines(DetectingCodec(), max_line=32)
    events = lines.feed(b"USER|pete\nMSG|" + b"x" * 100 + b"\nDIR\n")
    assert events[0] == ev.Join("pete")
    assert isinstance(events[1], ev.BadInput) and events[1].code == ErrorCode.LINE_TOO_LONG
    assert events[2] == ev.ListUsers()


def test_the_chosen_codec_takes_over_with_the_same_framing():
    # A server drops the detecting shell once decided and feeds the chosen codec directly;
    # the unfinished line stays in the connection's framing.
    codec = DetectingCodec()
    lines = Lines(codec, max_line=32)
    assert lines.feed(b'{"type":"join","username":"a"}\n{"type":"pi') == [ev.Join("a")]
    inner = codec.inner
    assert isinstance(inner, NativeCodec) and inner.events_received() == []
    assert lines.framing.pending() == len(b'{"type":"pi')
    lines.codec = inner
    assert lines.feed(b'ng"}\n{"type":"pong"}') == [ev.Ping()]
    assert lines.finish() == [ev.Pong()]


def test_the_shell_keeps_working_after_the_choice():
    lines = Lines(DetectingCodec(), max_line=10)
    assert lines.feed(b"USER|pe") == []
    assert lines.feed(b"te\nMSG|" + b"x" * 20) == [ev.Join("pete")]
    (too_long,) = lines.feed(b"\nMSG|h")
    assert isinstance(too_long, ev.BadInput) and too_long.code == ErrorCode.LINE_TOO_LONG
    assert lines.framing.pending() == len(b"MSG|h")
    assert lines.finish() == [ev.Chat("h")]


def test_the_last_line_at_eof_may_decide():
    codec = DetectingCodec()
    lines = Lines(codec)
    assert lines.feed(b"USER|pete") == []
    assert lines.finish() == [ev.Join("pete")] and codec.detected == "pipe"


def test_a_first_line_that_is_not_utf8_is_answered_in_native_form():
    codec = DetectingCodec()
    (event,) = feed(codec, b"\xff\xfe\n")
    assert isinstance(event, ev.BadInput) and event.code == ErrorCode.BAD_UTF8
    assert codec.detected is None
    error = ev.Error(event.code, event.message)
    assert codec.share_key(error, None) is None
    assert addressed(codec, error, None).startswith(b'{"type":"error"')


def test_every_dialect_is_registered():
    assert set(DIALECTS) == {"native", "typed", "plain", "pipe", "basic", "auto", "irc"}
    assert codec_factory("auto")().dialect == "auto"
    assert codec_factory("plain")().greeting()  # the plain port greets first
    with pytest.raises(ValueError, match="unknown dialect"):
        codec_factory("klingon")
