"""Rendering: byte-identical to the recorded table, pure, and shared exactly where allowed."""

import dataclasses
import time
from collections.abc import Callable

import pytest

from chinwag.protocol import events as ev
from chinwag.protocol.basic import BasicCodec
from chinwag.protocol.codec import Codec, concerns
from chinwag.protocol.detect import DetectingCodec
from chinwag.protocol.dialects import DIALECTS
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.native import NativeCodec
from chinwag.protocol.pipe import PipeCodec
from chinwag.protocol.plain import PlainCodec
from chinwag.protocol.typed import TypedCodec
from tests.protocol.expected_render import EXPECTED
from tests.protocol.notices import NOTICES, NOW, VIEWERS
from tests.protocol.support import feed


def detected(first_line: bytes) -> Callable[[], Codec]:
    def make() -> Codec:
        codec = DetectingCodec()
        feed(codec, first_line)
        return codec

    return make


CODECS: dict[str, Callable[[], Codec]] = {
    "native": NativeCodec,
    "typed": TypedCodec,
    "basic": BasicCodec,
    "pipe": PipeCodec,
    "plain": PlainCodec,
    "auto-native": detected(b'{"type":"ping"}\n'),
    "auto-basic": detected(b'{"username":"alice","message":""}\n'),
    "auto-pipe": detected(b"USER|alice\n"),
    "auto-plain": detected(b"hello\n"),
}
PERSONAL = ["typed", "basic", "pipe", "plain", "auto-basic", "auto-pipe", "auto-plain"]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """The table was recorded in UTC with the clock at NOW (typed stamps some lines)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(time, "time", lambda: NOW)
    yield
    monkeypatch.undo()
    time.tzset()


def expected(dialect: str, key: str, viewer: str | None) -> bytes:
    value = EXPECTED[dialect.removeprefix("auto-")][key]
    if isinstance(value, bytes):
        return value
    common, exceptions = value
    return exceptions.get(viewer, common)


def state(codec: Codec) -> dict[str, object]:
    """Every slot of a codec (what render must leave alone)."""
    names = {n for cls in type(codec).__mro__ for n in getattr(cls, "__slots__", ())}
    return {n: getattr(codec, n) for n in names if hasattr(codec, n)}


@pytest.mark.parametrize("name", sorted(CODECS))
@pytest.mark.parametrize("key", sorted(NOTICES))
def test_every_dialect_renders_the_recorded_bytes(name: str, key: str):
    codec = CODECS[name]()
    for viewer in VIEWERS:
        assert codec.render(NOTICES[key], viewer) == expected(name, key, viewer), viewer


@pytest.mark.parametrize("name", sorted(CODECS))
def test_render_is_pure(name: str):
    codec = CODECS[name]()
    before = state(codec)
    for notice in NOTICES.values():
        for viewer in VIEWERS:
            first = codec.render(notice, viewer)
            assert codec.render(notice, viewer) == first
            assert state(codec) == before, (notice, viewer)
            # What was rendered for one viewer does not leak into another's bytes.
            for other in VIEWERS:
                assert codec.render(notice, other) == CODECS[name]().render(notice, other)


@pytest.mark.parametrize("name", PERSONAL)
def test_personal_codecs_share_exactly_where_concerns_says_not(name: str):
    codec = CODECS[name]()
    chosen = codec.inner if isinstance(codec, DetectingCodec) else codec
    assert chosen is not None and chosen.personal
    assert not codec.always_shared
    for notice in NOTICES.values():
        for viewer in VIEWERS:
            key = codec.share_key(notice, viewer)
            if concerns(notice, viewer):
                assert key is None, (notice, viewer)
            else:
                assert key is type(chosen), (notice, viewer)


@pytest.mark.parametrize("name", sorted(CODECS))
def test_viewers_that_share_a_key_get_the_same_bytes(name: str):
    codec = CODECS[name]()
    for notice in NOTICES.values():
        shared = {
            codec.render(notice, viewer)
            for viewer in VIEWERS
            if codec.share_key(notice, viewer) is not None
        }
        assert len(shared) <= 1, notice


def test_native_is_never_personal_and_always_shared():
    codec = NativeCodec()
    assert not codec.personal and codec.always_shared
    for notice in NOTICES.values():
        for viewer in VIEWERS:
            assert codec.share_key(notice, viewer) is NativeCodec
    assert [n for n, f in DIALECTS.items() if getattr(f, "always_shared", False)] == ["native"]


def test_an_undecided_detector_renders_native_alone():
    codec = DetectingCodec()
    error = ev.Error(ErrorCode.LINE_TOO_LONG, "Line too long")
    assert codec.share_key(error, None) is None
    assert codec.render(error, None) == NativeCodec().render(error, None)


T = 1.0


@pytest.mark.parametrize(
    ("notice", "viewer", "expected_concerns"),
    [
        (ev.ChatMessage(1, "general", "alice", "hi", T), "alice", True),
        (ev.ChatMessage(1, "general", "alice", "hi", T), "bob", False),
        (ev.ChatMessage(1, "general", "alice", "hi", T), None, False),
        (ev.ChatMessage(1, "general", "alice", "hi", T, history=True), "alice", False),
        (ev.PrivateMessage(1, "alice", "bob", "psst", T), "alice", True),
        (ev.PrivateMessage(1, "alice", "bob", "psst", T), "bob", True),
        (ev.PrivateMessage(1, "alice", "bob", "psst", T, history=True), "bob", True),
        (ev.PrivateMessage(1, "alice", "bob", "psst", T), "carol", False),
        (ev.UserRenamed("alice", "al", T), "al", True),
        (ev.UserRenamed("alice", "al", T), "bob", False),
        (ev.Welcome("bob", "Hi", ("bob",), ("general",), 0, T), "bob", True),
        (ev.Error(ErrorCode.BAD_JSON, "x"), None, True),
        (ev.Goodbye("Goodbye, bob!"), "bob", False),
        (ev.TopicChanged(1, "dev", "bob", "t", T), "bob", False),
        (ev.UserJoined("general", "bob", T), "bob", False),
        (ev.PongReply(T, "plain:help"), "bob", False),
    ],
)
def test_concerns(notice: ev.Notice, viewer: str | None, expected_concerns: bool):
    assert concerns(notice, viewer) is expected_concerns


@pytest.mark.parametrize("name", sorted(set(PERSONAL)))
def test_account_fields_leave_the_seed_dialects_as_they_were(name: str):
    """Seed clients join as guests; what accounts add to a welcome or a user list changes
    none of their bytes (plain alone says `Logged in as` once a welcome names an account),
    and a login token never reaches them."""
    welcome = NOTICES["welcome"]
    assert isinstance(welcome, ev.Welcome)
    users, joined = NOTICES["users"], NOTICES["room_joined"]
    assert isinstance(users, ev.UserList) and isinstance(joined, ev.RoomJoined)
    as_guest = dataclasses.replace(welcome, accounts=("bob",), guest=True)
    as_account = dataclasses.replace(welcome, accounts=("alice",), account="alice", token="t0k3n")
    pairs: list[tuple[ev.Notice, ev.Notice]] = [
        (as_guest, welcome),
        (dataclasses.replace(users, accounts=("bob",)), users),
        (dataclasses.replace(joined, accounts=("alice",)), joined),
    ]
    if not name.endswith("plain"):
        pairs.append((as_account, welcome))
    codec = CODECS[name]()
    for viewer in VIEWERS:
        for rich, bare in pairs:
            assert codec.render(rich, viewer) == codec.render(bare, viewer), (rich, viewer)
        assert b"t0k3n" not in codec.render(as_account, viewer)


MODERATION: dict[str, ev.Notice] = {
    "kick": ev.Moderated(3, "kick", "alice", T, "dev", "bob", "spam"),
    "ban": ev.Moderated(4, "ban", "alice", T, None, "bob", "abuse", T + 3600),
    "mode": ev.Moderated(5, "mode", "alice", T, "dev", modes=("invite_only", "moderated")),
    "deleted": ev.Deleted(12, "dev", "alice", T),
    "announce": ev.Announcement("alice", "back at 6", T),
    "tombstone": ev.ChatMessage(12, "dev", "bob", "", T, True, True),
}
SENTENCES = {
    "kick": "bob was kicked from dev by alice: spam",
    "ban": "bob was banned from the server by alice for 1 hour: abuse",
    "mode": "alice set the modes of dev: invite only, moderated",
    "deleted": "alice deleted message 12",
    "announce": "back at 6",
    "tombstone": "(message deleted)",
}


@pytest.mark.parametrize("name", sorted(CODECS))
@pytest.mark.parametrize("key", sorted(MODERATION))
def test_every_dialect_shows_moderation_as_one_line_of_its_own(name: str, key: str):
    out = CODECS[name]().render(MODERATION[key], "carol")
    assert out.count(b"\n") == 1, out
    if "native" not in name:  # the native dialect sends the fields (and `message`)
        assert SENTENCES[key].encode() in out, out
