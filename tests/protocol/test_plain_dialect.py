import pytest

from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.plain import PlainCodec


def feed(codec: PlainCodec, data: bytes) -> list[ev.Command]:
    codec.receive_data(data)
    return codec.events_received()


def joined(name: str = "Client 1") -> PlainCodec:
    codec = PlainCodec()
    assert codec.greeting()
    assert codec.events_received() == [ev.Join(None)]
    codec.encode(ev.Welcome(name, f"Welcome to chinwag, {name}!", (name,), ("general",), 0, 1.0))
    return codec


def test_dedicated_port_greets_and_joins_at_once():
    codec = PlainCodec()
    assert codec.greeting().endswith(b"\r\n")
    assert codec.events_received() == [ev.Join(None)]
    assert feed(codec, b"Hello World\n") == [ev.Chat("Hello World")]


def test_detected_plain_joins_on_its_first_line_which_is_a_message():
    codec = PlainCodec(greet=False)
    assert codec.greeting() == b""
    assert feed(codec, b"Hello World\r\n") == [ev.Join(None), ev.Chat("Hello World")]


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"/nick bob", ev.Rename("bob")),
        (b"/users", ev.ListUsers()),
        (b"/msg bob hi there", ev.Private("bob", "hi there")),
        (b"/msg Client 1 hello", ev.Private("Client 1", "hello")),
        (b"/msg client 12 hello  you", ev.Private("client 12", "hello  you")),
        (b"/quit", ev.Quit()),
        (b"quit", ev.Quit()),
        (b"EXIT", ev.Quit()),
        (b"  /quit  ", ev.Quit()),
    ],
)
def test_commands(line: bytes, event: ev.Command):
    assert feed(joined(), line + b"\n") == [event]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"/dance", ErrorCode.UNKNOWN_COMMAND),
        (b"/nick", ErrorCode.MISSING_FIELD),
        (b"/msg bob", ErrorCode.MISSING_FIELD),
        (b"/msg", ErrorCode.MISSING_FIELD),
        (b"caf\xe9", ErrorCode.BAD_UTF8),
    ],
)
def test_bad_lines(line: bytes, code: ErrorCode):
    (event,) = feed(joined(), line + b"\n")
    assert isinstance(event, ev.BadInput) and event.code == code


def test_blank_lines_are_ignored():
    assert feed(joined(), b"\n   \r\n") == []


def test_help_rides_on_a_ping_and_comes_back_as_text():
    codec = joined()
    (ping,) = feed(codec, b"/help\n")
    assert isinstance(ping, ev.Ping)
    text = codec.encode(ev.PongReply(1.0, ping.token)).decode()
    assert "/nick" in text and "/msg" in text and "/quit" in text


def test_others_see_name_colon_text_and_the_sender_sees_nothing():
    one, two = joined("Client 1"), joined("Client 2")
    notice = ev.ChatMessage(1, "general", "Client 1", "Hello World", 1.0)
    assert two.encode(notice) == b"Client 1: Hello World\r\n"
    assert one.share_key(notice) is None and one.encode(notice) == b""


def test_notices_are_single_text_lines():
    codec = joined("Client 2")
    assert codec.encode(ev.UserJoined("general", "bob", 1.0)) == b"*** bob joined the chat\r\n"
    assert codec.encode(ev.Error(ErrorCode.NAME_TAKEN, "Username already taken")) == (
        b"*** Error: Username already taken\r\n"
    )
    private = codec.encode(ev.PrivateMessage(2, "bob", "Client 2", "a\nb", 1.0))
    assert private == b"[private] bob: a b\r\n"
    assert codec.encode(ev.Goodbye("Goodbye, Client 2!")) == b"*** Goodbye, Client 2!\r\n"
    assert codec.encode(ev.KeepAlive(1.0)) == b""


def test_rename_updates_own_name():
    codec = joined("Client 1")
    renamed = ev.UserRenamed("Client 1", "bob", 1.0)
    assert codec.share_key(renamed) is None
    assert b"You are now known as bob" in codec.encode(renamed)
    assert codec.username == "bob"
