from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.pipe import PipeCodec


def feed(codec: PipeCodec, data: bytes) -> list[ev.Command]:
    codec.receive_data(data)
    return codec.events_received()


def joined(name: str = "alice") -> PipeCodec:
    codec = PipeCodec()
    assert feed(codec, f"USER|{name}\n".encode()) == [ev.Join(name)]
    assert codec.encode(ev.Welcome(name, "Welcome!", (name,), ("general",), 0, 1.0)) == (
        b"USER_OK\n"
    )
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
    alice, bob = joined("alice"), joined("bob")
    notice = ev.ChatMessage(1, "general", "alice", "hi\nthere", 1.0)
    assert alice.share_key(notice) is None
    assert alice.encode(notice) == b"MSG_OK\n"
    assert bob.encode(notice) == b"MSG|alice|hi there\n"
    replay = ev.ChatMessage(1, "general", "alice", "old", 1.0, history=True)
    assert alice.encode(replay) == b"MSG|alice|old\n"


def test_dir_errors_and_info():
    codec = joined()
    assert codec.encode(ev.UserList(("alice", "bob"))) == b"Users logged in: alice, bob\n"
    error = codec.encode(ev.Error(ErrorCode.NAME_TAKEN, "Username already taken"))
    assert error == b"ERROR|Username already taken\n"
    assert codec.encode(ev.UserJoined("general", "bob", 1.0)) == b"INFO|bob joined the chat\n"
    assert codec.encode(ev.KeepAlive(1.0)) == b""
    assert PipeCodec().encode(ev.Error(ErrorCode.NOT_JOINED, "x")).startswith(b"ERROR|")
