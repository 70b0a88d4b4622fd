"""Invariants every codec keeps, whatever the dialect."""

from collections.abc import Callable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chinwag.protocol import events as ev
from chinwag.protocol.basic import BasicCodec
from chinwag.protocol.codec import Codec
from chinwag.protocol.detect import DetectingCodec
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.irc import IrcCodec
from chinwag.protocol.native import NativeCodec
from chinwag.protocol.pipe import PipeCodec
from chinwag.protocol.plain import PlainCodec
from chinwag.protocol.typed import TypedCodec
from tests.protocol.support import Lines, feed

COMMANDS = ev.Command.__args__

FACTORIES: dict[str, Callable[[], Codec]] = {
    "native": NativeCodec,
    "typed": TypedCodec,
    "basic": BasicCodec,
    "pipe": PipeCodec,
    "plain": PlainCodec,
    "plain-detected": lambda: PlainCodec(greet=False),
    "auto": DetectingCodec,
    "irc": IrcCodec,
}

# Lines that steer a codec (and the detector) into its interesting states.
SEEDS = [
    b"USER|a\n",
    b'{"username":"c","message":"m"}\n',
    b'{"type":"join","username":"a"}\n',
    b'{"type":"message","message":"m"}\n',
    b"/msg Client 1 hi\n",
    b"Alice\n",
    b"\r\n",
    b"CAP LS 302\r\nNICK bob\r\nUSER b 0 * :B\r\n",
    b"CAP REQ :sasl echo-message\r\nAUTHENTICATE PLAIN\r\nAUTHENTICATE AGJvYgBzZWNyZXQ=\r\n",
    b"PRIVMSG #dev,bob :\x01ACTION hi\x01\r\nMODE #dev +imtovb-b a b c d\r\n",
    b"@a=b\\s :src JOIN #x\r\nCHATHISTORY LATEST #dev * 10\r\n",
]

chunks = st.lists(
    st.one_of(st.binary(max_size=80), st.sampled_from(SEEDS)),
    max_size=12,
)


def run(codec: Codec, pieces: list[bytes], max_line: int, answer: bool) -> list[ev.Command]:
    """Bytes as a connection feeds them; `answer`: with the server's answers to names."""
    lines = Lines(codec, max_line)
    codec.greeting()
    events = codec.events_received()
    for piece in pieces:
        events += lines.feed(piece)
        if answer:
            answer_names(codec, events)
    events += lines.finish()
    return events


def answer_names(codec: Codec, events: list[ev.Command]) -> None:
    """Refuse every other name, so the naming states come and go."""
    joins = sum(isinstance(e, ev.Join) for e in events)
    if joins % 2:
        codec.observe(ev.Error(ErrorCode.NAME_TAKEN, "Username already taken"))
    elif joins:
        codec.observe(ev.Welcome("bob", "Welcome!", ("bob",), ("general",), 0, 1.0))


def comparable(events: list[ev.Command]) -> list[ev.Command]:
    """Forget the size a too-long line reports (a split CRLF may count its CR)."""
    return [
        ev.BadInput(e.code, "")
        if isinstance(e, ev.BadInput) and e.code is ErrorCode.LINE_TOO_LONG
        else e
        for e in events
    ]


@pytest.mark.parametrize("name", sorted(FACTORIES))
@settings(max_examples=200, deadline=None)
@given(pieces=chunks, max_line=st.integers(1, 200))
def test_any_bytes_yield_only_commands(name: str, pieces: list[bytes], max_line):
    events = run(FACTORIES[name](), pieces, max_line, answer=True)
    assert all(isinstance(e, COMMANDS) for e in events)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@settings(max_examples=100, deadline=None)
@given(pieces=chunks, cuts=st.lists(st.integers(0, 1000), max_size=8))
def test_where_the_bytes_are_split_does_not_matter(name: str, pieces: list[bytes], cuts):
    data = b"".join(pieces)
    points = sorted({c % (len(data) + 1) for c in cuts})
    split = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    whole = run(FACTORIES[name](), [data], 64, answer=False)
    assert comparable(run(FACTORIES[name](), split, 64, answer=False)) == comparable(whole)


SAMPLES: list[ev.Notice] = [
    ev.ChatMessage(1, "general", "alice", "hi\nthere\r\n\u2028", 1.0),
    ev.ChatMessage(2, "dev", "Client 1", "in dev", 2.0, history=True),
    ev.PrivateMessage(3, "alice", "bob", "psst", 3.0),
    ev.PrivateMessage(4, "bob", "alice", "back", 4.0, history=True),
    ev.TopicChanged(5, "general", "alice", "news\nhere", 5.0),
    ev.Welcome("bob", "Welcome to chinwag, bob!", ("alice", "bob"), ("general",), 5, 6.0),
    ev.UserJoined("general", "carol", 7.0),
    ev.UserLeft("dev", "carol", 8.0, "timeout"),
    ev.UserRenamed("carol", "caz", 9.0),
    ev.UserRenamed("bob", "robert", 9.5),
    ev.UserList(("alice", "bob")),
    ev.UserList(("alice",), "dev"),
    ev.RoomList((ev.RoomInfo("general", 2, ""), ev.RoomInfo("dev", 1, "t"))),
    ev.RoomJoined("dev", "topic", ("alice",)),
    ev.RoomLeft("dev"),
    ev.HistoryPage("general", (ev.ChatMessage(1, "general", "alice", "old", 1.0, True),)),
    ev.SearchResults("general", "old", ()),
    ev.PongReply(10.0, "x"),
    ev.KeepAlive(11.0),
    ev.Error(ErrorCode.BAD_JSON, "Line is not valid JSON"),
    ev.Error(ErrorCode.NOT_JOINED, "Join first with a username"),
    ev.Goodbye("Goodbye, bob!"),
]

JSON_DIALECTS = {"native", "typed", "basic"}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("viewer", [None, "alice", "bob", "robert"])
def test_every_notice_renders_to_whole_lines(name: str, viewer: str | None):
    codec = FACTORIES[name]()
    first = {"auto": b"USER|bob\n", "basic": b'{"username":"bob","message":""}\n'}
    feed(codec, first.get(name, b"bob\n" if name == "typed" else b""))
    for notice in SAMPLES:
        data = codec.render(notice, viewer)
        assert isinstance(data, bytes)
        if not data:
            continue
        assert data.endswith(b"\n"), (notice, data)
        for line in data.splitlines():
            assert line.strip(), (notice, data)
            if name in JSON_DIALECTS:
                assert isinstance(orjson.loads(line), dict)
            data.decode("utf-8")


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_notice_type_renders_in_every_dialect(name: str):
    """The schema's examples hold every notice type (test_schema checks it): a type a
    dialect has no shape for still renders (a server line), never raises."""
    from tests.protocol.test_schema import ALL_NOTICES

    codec = FACTORIES[name]()
    first = {"auto": b"USER|bob\n", "basic": b'{"username":"bob","message":""}\n'}
    feed(codec, first.get(name, b"bob\n" if name == "typed" else b""))
    for notice in ALL_NOTICES.values():
        for viewer in (None, "alice", "bob"):
            data = codec.render(notice, viewer)
            assert isinstance(data, bytes)
            if data:
                data.decode("utf-8")
