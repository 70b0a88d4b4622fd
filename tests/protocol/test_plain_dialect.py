import pytest

from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.plain import PlainCodec
from tests.protocol.support import addressed, feed


def joined(name: str = "Client 1") -> PlainCodec:
    codec = PlainCodec()
    assert codec.greeting()
    assert codec.events_received() == [ev.Join(None)]
    welcome = ev.Welcome(name, f"Welcome to chinwag, {name}!", (name,), ("general",), 0, 1.0)
    assert addressed(codec, welcome, name).startswith(b"*** Welcome")
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
    text = codec.render(ev.PongReply(1.0, ping.token), "Client 1").decode()
    assert "/nick" in text and "/msg" in text and "/quit" in text


def test_others_see_name_colon_text_and_the_sender_sees_nothing():
    codec = joined("Client 2")
    notice = ev.ChatMessage(1, "general", "Client 1", "Hello World", 1.0)
    assert codec.render(notice, "Client 2") == b"Client 1: Hello World\r\n"
    assert codec.share_key(notice, "Client 1") is None
    assert codec.render(notice, "Client 1") == b""


def test_notices_are_text_lines_and_each_line_of_a_message_names_its_sender():
    codec = joined("Client 2")
    assert codec.render(ev.UserJoined("general", "bob", 1.0), "Client 2") == (
        b"*** bob joined the chat\r\n"
    )
    error = ev.Error(ErrorCode.NAME_TAKEN, "Username already taken")
    assert addressed(codec, error, "Client 2") == b"*** Error: Username already taken\r\n"
    private = codec.render(ev.PrivateMessage(2, "bob", "Client 2", "a\nb", 1.0), "Client 2")
    assert private == b"[private] bob: a\r\n[private] bob: b\r\n"
    goodbye = codec.render(ev.Goodbye("Goodbye, Client 2!"), "Client 2")
    assert goodbye == b"*** Goodbye, Client 2!\r\n"
    assert codec.render(ev.KeepAlive(1.0), "Client 2") == b""


def test_own_rename_is_told_apart_by_the_new_name():
    # The session has its new name by the time the rename is rendered.
    codec = joined("Client 1")
    renamed = ev.UserRenamed("Client 1", "bob", 1.0)
    assert codec.share_key(renamed, "bob") is None
    assert codec.render(renamed, "bob") == b"*** You are now known as bob\r\n"
    assert codec.share_key(renamed, "carol") is PlainCodec
    assert codec.render(renamed, "carol") == b"*** Client 1 is now known as bob\r\n"


# --------------------------------------------------------------------------- accounts

SECRET = "s3cret pass"


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"/register alice s3cret pass", ev.Register("alice", SECRET)),
        (b"/login alice s3cret pass", ev.Join("alice", password=SECRET)),
        (b"/LOGIN\talice \t s3cret pass  ", ev.Join("alice", password=SECRET)),
        (b"/logout", ev.Logout()),
        (b"/password old s3cret pass", ev.ChangePassword("old", SECRET)),
    ],
)
def test_account_commands(line: bytes, event: ev.Command):
    (got,) = feed(joined(), line + b"\n")
    assert got == event
    assert getattr(got, "password", None) == getattr(event, "password", None)


def test_a_detected_plain_client_may_log_in_with_its_first_line():
    codec = PlainCodec(greet=False)
    assert feed(codec, b"/login alice s3cret pass\n") == [
        ev.Join(None),
        ev.Join("alice", password=SECRET),
    ]


@pytest.mark.parametrize(
    "line",
    [b"/login", b"/login s3cret", b"/register s3cret", b"/password s3cret", b"/login\ts3cret"],
)
def test_an_unusable_account_line_is_answered_with_its_usage_alone(line: bytes):
    (event,) = feed(joined(), line + b"\n")
    assert isinstance(event, ev.BadInput) and event.code == ErrorCode.MISSING_FIELD
    assert event.message.startswith("Usage: /") and "s3cret" not in event.message


def test_help_lists_the_account_commands():
    codec = joined()
    (ping,) = feed(codec, b"/help\n")
    text = codec.render(ev.PongReply(1.0, ping.token), "Client 1").decode()  # type: ignore[union-attr]
    for command in ("/register NAME PASSWORD", "/login NAME PASSWORD", "/logout", "/password"):
        assert command in text


def test_a_welcome_after_logging_in_says_so_and_never_shows_the_token():
    codec = joined("Client 1")
    welcome = ev.Welcome(
        "alice",
        "Welcome to chinwag, alice!",
        ("alice", "bob"),
        ("general",),
        0,
        1.0,
        accounts=("alice",),
        account="alice",
        token="t0ken-t0ken",
    )
    assert addressed(codec, welcome, "alice") == (
        b"*** Logged in as alice. Welcome to chinwag, alice!\r\n"
        b"*** Online: bob. Type /help for the commands.\r\n"
    )
    done = ev.Done("password", "Password changed; other devices must log in again")
    assert codec.render(done, "alice") == (
        b"*** Password changed; other devices must log in again\r\n"
    )
    refused = ev.Error(ErrorCode.AUTH_FAILED, "Wrong username or password")
    assert addressed(codec, refused, "Client 1") == b"*** Error: Wrong username or password\r\n"
