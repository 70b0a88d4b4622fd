"""Invariants every codec keeps, whatever the dialect."""

from collections.abc import Callable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chinwag.errors import RemoteProtocolError
from chinwag.protocol import events as ev
from chinwag.protocol.basic import BasicCodec
from chinwag.protocol.codec import Codec
from chinwag.protocol.detect import DetectingCodec
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.native import NativeCodec
from chinwag.protocol.pipe import PipeCodec
from chinwag.protocol.plain import PlainCodec
from chinwag.protocol.typed import TypedCodec

COMMANDS = ev.Command.__args__

FACTORIES: dict[str, Callable[[int], Codec]] = {
    "native": lambda n: NativeCodec(max_line=n),
    "typed": lambda n: TypedCodec(max_line=n),
    "basic": lambda n: BasicCodec(max_line=n),
    "pipe": lambda n: PipeCodec(max_line=n),
    "plain": lambda n: PlainCodec(max_line=n),
    "plain-detected": lambda n: PlainCodec(greet=False, max_line=n),
    "auto": lambda n: DetectingCodec(max_line=n),
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
]

chunks = st.lists(
    st.one_of(st.binary(max_size=80), st.sampled_from(SEEDS)),
    max_size=12,
)


def run(codec: Codec, pieces: list[bytes]) -> list[ev.Command]:
    events: list[ev.Command] = []
    codec.greeting()
    for piece in pieces:
        codec.receive_data(piece)
        events += codec.events_received()
    codec.receive_eof()
    events += codec.events_received()
    return events


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
def test_any_bytes_yield_events_or_the_protocol_error(name: str, pieces: list[bytes], max_line):
    try:
        events = run(FACTORIES[name](max_line), pieces)
    except RemoteProtocolError:
        return
    assert all(isinstance(e, COMMANDS) for e in events)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@settings(max_examples=100, deadline=None)
@given(pieces=chunks, cuts=st.lists(st.integers(0, 1000), max_size=8))
def test_where_the_bytes_are_split_does_not_matter(name: str, pieces: list[bytes], cuts):
    data = b"".join(pieces)
    points = sorted({c % (len(data) + 1) for c in cuts})
    split = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    whole = run(FACTORIES[name](64), [data])
    assert comparable(run(FACTORIES[name](64), split)) == comparable(whole)


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
def test_every_notice_encodes_to_whole_lines(name: str):
    codec = FACTORIES[name](1024)
    codec.receive_data(
        {
            "auto": b"USER|bob\n",
            "basic": b'{"username":"bob","message":""}\n',
            "typed": b"bob\n",
        }.get(name, b"")
    )
    for notice in SAMPLES:
        data = codec.encode(notice)
        assert isinstance(data, bytes)
        if not data:
            continue
        assert data.endswith(b"\n"), (notice, data)
        for line in data.splitlines():
            assert line.strip(), (notice, data)
            if name in JSON_DIALECTS:
                assert isinstance(orjson.loads(line), dict)
            data.decode("utf-8")
    if name != "native":  # a seed dialect follows its own renames (no echo, MSG_OK)
        assert codec.username == "robert"
