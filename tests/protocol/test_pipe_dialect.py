from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.pipe import PipeCodec
from tests.protocol.support import addressed, feed


def joined(name: str = "alice") -> PipeCodec:
    codec = PipeCodec()
    assert feed(codec, f"USER|{name}\n".encode()) == [ev.Join(name)]
    welcome = ev.Welcome(name, "Welcome!", (name,), ("general",), 0, 1.0)
    assert addressed(codec, welcome, name) == b"USER_OK\n"
    return codec


def test_seed_commands():
    assert feed(PipeCodec(), b"USER|alice\nMSG|hello | there\nDIR\n") == [
        ev.Join("alice"),
        ev.Chat("hello | there"),
        ev.ListUsers(),
    ]


def test_extras_and_case():
    assert feed(PipeCodec(), b"msg|hi\nPRIVATE|bob|psst\nPING\nQUIT\n") == [
        ev.Chat("hi"),
        ev.Private("bob", "psst"),
        ev.Ping(),
        ev.Quit(),
    ]


def test_bad_lines_become_bad_input():
    cases = {
        b"HELLO": ErrorCode.UNKNOWN_COMMAND,
        b"PRIVATE|bob": ErrorCode.MISSING_FIELD,
        b"MSG|\xff": ErrorCode.BAD_UTF8,
    }
    for line, code in cases.items():
        (event,) = feed(PipeCodec(), line + b"\n")
        assert isinstance(event, ev.BadInput) and event.code == code, (line, event)


def test_own_message_is_msg_ok_and_others_get_the_sender_name():
    codec = joined("alice")
    notice = ev.ChatMessage(1, "general", "alice", "hi\nthere", 1.0)
    assert codec.share_key(notice, "alice") is None
    assert codec.render(notice, "alice") == b"MSG_OK\n"
    assert codec.share_key(notice, "bob") is PipeCodec
    assert codec.render(notice, "bob") == b"MSG|alice|hi\nMSG|alice|there\n"
    replay = ev.ChatMessage(1, "general", "alice", "old", 1.0, history=True)
    assert codec.share_key(replay, "alice") is PipeCodec
    assert codec.render(replay, "alice") == b"MSG|alice|old\n"


def test_dir_errors_and_info():
    codec = joined()
    assert codec.render(ev.UserList(("alice", "bob")), "alice") == b"Users logged in: alice, bob\n"
    error = addressed(codec, ev.Error(ErrorCode.NAME_TAKEN, "Username already taken"), "alice")
    assert error == b"ERROR|Username already taken\n"
    assert codec.render(ev.UserJoined("general", "bob", 1.0), "alice") == (
        b"INFO|bob joined the chat\n"
    )
    assert codec.render(ev.KeepAlive(1.0), "alice") == b""
    not_joined = ev.Error(ErrorCode.NOT_JOINED, "x")
    assert addressed(PipeCodec(), not_joined, None) == b"ERROR|Register first with USER|name\n"


def test_a_text_with_bars_is_everything_after_the_second_bar():
    """`MSG|alice|bob|forged` is alice saying `bob|forged` (docs/protocol.md)."""
    from chinwag.protocol.codec import feed_lines
    from chinwag.protocol.framing import LineFraming

    codec = PipeCodec()
    said = ev.ChatMessage(1, "general", "alice", "bob|forged", 0.0)
    assert codec.render(said, "carol") == b"MSG|alice|bob|forged\n"
    private = ev.PrivateMessage(2, "alice", "carol", "x|y", 0.0)
    assert codec.render(private, "carol") == b"PRIVATE|alice|x|y\n"
    commands = feed_lines(codec, LineFraming(), b"USER|dan\nMSG|a|b\nPRIVATE|carol|c|d\n")
    assert commands[1:] == [ev.Chat("a|b"), ev.Private("carol", "c|d")]
