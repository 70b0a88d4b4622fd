"""What the IRC codec writes: whole lines of at most 512 bytes (tags apart), and no control
character on an IRC user's terminal whatever other front ends sent."""

from hypothesis import given, settings
from hypothesis import strategies as st

from chinwag.engine.names import valid_username
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.irc import IrcCodec
from chinwag.protocol.irc_render import CAPS
from tests.protocol.support import feed

names = st.one_of(
    st.text(
        st.characters(categories=["L", "M", "Nd"], include_characters="_-."),
        min_size=1,
        max_size=32,
    ).filter(valid_username),
    st.integers(1, 10**6).map(lambda n: f"Client {n}"),
)
rooms = st.from_regex(r"[A-Za-z0-9_\-]{1,32}", fullmatch=True)
texts = st.text(max_size=3000)
stamp = st.floats(0, 4e9)


def notices() -> st.SearchStrategy[ev.Notice]:
    return st.one_of(
        st.builds(ev.ChatMessage, st.integers(1, 10**9), rooms, names, texts, stamp, st.booleans()),
        st.builds(ev.PrivateMessage, st.integers(1, 10**9), names, names, texts, stamp),
        st.builds(ev.TopicChanged, st.integers(1, 10**9), rooms, names, texts, stamp),
        st.builds(ev.UserLeft, rooms, names, stamp, texts),
        st.builds(
            ev.FileShared,
            st.integers(1, 10**9),
            rooms,
            names,
            texts,
            st.integers(0, 10**9),
            texts,
            texts,
            stamp,
        ),
        st.builds(
            ev.Moderated,
            st.integers(1, 99),
            st.sampled_from(["kick", "ban", "unban", "mute", "role", "invite", "mode", "other"]),
            names,
            stamp,
            st.one_of(st.none(), rooms),
            st.one_of(st.none(), names),
            texts,
        ),
        st.builds(ev.Error, st.sampled_from(list(ErrorCode)), texts),
        st.builds(ev.Goodbye, texts),
        st.builds(ev.Announcement, names, texts, stamp),
        st.builds(
            ev.RoomList,
            st.lists(st.builds(ev.RoomInfo, rooms, st.integers(0, 9), texts), max_size=5).map(
                tuple
            ),
        ),
        st.builds(ev.RoomJoined, rooms, texts, st.lists(names, max_size=200).map(tuple)),
        st.builds(
            ev.UserList, st.lists(names, max_size=200).map(tuple), st.one_of(st.none(), rooms)
        ),
    )


def registered(caps: int) -> IrcCodec:
    codec = IrcCodec()
    feed(codec, b"CAP REQ :" + " ".join(CAPS).encode() + b"\r\n")
    codec._caps = caps
    codec.observe(ev.Welcome("me", "Welcome!", ("me",), ("general",), 0, 1.0))
    return codec


@settings(max_examples=400, deadline=None)
@given(notices(), st.sampled_from([0, sum(CAPS.values())]), st.one_of(st.none(), names))
def test_every_line_is_whole_short_and_free_of_controls(notice: ev.Notice, caps: int, viewer):
    data = registered(caps).render(notice, viewer)
    if not data:
        return
    assert data.endswith(b"\r\n")
    for raw in data[:-2].split(b"\r\n"):
        assert b"\n" not in raw and b"\r" not in raw and b"\0" not in raw
        body = raw.split(b" ", 1)[1] if raw.startswith(b"@") else raw
        assert len(body) + 2 <= 512, raw
        line = raw.decode("utf-8")
        action = line.find(":\x01ACTION ")
        if action >= 0 and line.endswith("\x01"):
            line = line[:action] + line[action + 2 : -1]
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in line), raw
