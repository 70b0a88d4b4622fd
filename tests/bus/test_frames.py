"""Frames: what crosses a broker is the native encoding of the notice plus the audience."""

from __future__ import annotations

import orjson
import pytest

from chinwag.bus.base import Envelope, ToRoom, ToRooms, ToSession, ToUser
from chinwag.bus.frames import BadFrame, decode_frame, encode_frame
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.native import encode_notice
from tests.protocol.test_schema import ALL_NOTICES

AUDIENCES = [ToRoom("dév"), ToUser("alice"), ToRooms(("dev", "ops"))]


@pytest.mark.parametrize("notice", ALL_NOTICES.values(), ids=list(ALL_NOTICES))
@pytest.mark.parametrize("audience", AUDIENCES, ids=["room", "user", "rooms"])
def test_every_notice_crosses_with_its_audience_id_and_close(notice, audience):
    sent = Envelope(audience, notice, 42, Session(peer="x", dialect="native"), "kicked")
    got = decode_frame(encode_frame(sent))
    assert (got.audience, got.notice, got.id, got.close) == (audience, notice, 42, "kicked")
    assert got.exclude is None  # a session of the publishing node means nothing elsewhere


def test_the_notice_travels_as_the_bytes_a_native_client_gets():
    chat = ev.ChatMessage(3, "dev", "bob", "hi", 1.0)
    frame = encode_frame(Envelope(ToRoom("dev"), chat, 3))
    head, body = frame.split(b"\n", 1)
    assert orjson.loads(head) == {"to": "room", "key": "dev", "id": 3}
    assert body == encode_notice(chat)


def test_a_room_message_carries_its_rooms_previous_id():
    chat = ev.ChatMessage(9, "dev", "bob", "hi", 1.0)
    frame = encode_frame(Envelope(ToRoom("dev"), chat, 9, prev=4))
    assert orjson.loads(frame.split(b"\n", 1)[0]) == {
        "to": "room",
        "key": "dev",
        "id": 9,
        "prev": 4,
    }
    assert decode_frame(frame).prev == 4


def test_a_session_envelope_has_no_frame():
    with pytest.raises(TypeError):
        encode_frame(Envelope(ToSession(Session(peer="x", dialect="native")), ev.Goodbye("x")))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"no newline",
        b"[1]\n{}",
        b"{bad\n{}",
        b'{"to":"room"}\n{"type":"goodbye","message":"x"}',
        b'{"to":"rooms","keys":[1]}\n{"type":"goodbye","message":"x"}',
        b'{"to":"session","key":"x"}\n{"type":"goodbye","message":"x"}',
        b'{"to":"room","key":"d","id":-1}\n{"type":"goodbye","message":"x"}',
        b'{"to":"room","key":"d","id":true}\n{"type":"goodbye","message":"x"}',
        b'{"to":"room","key":"d","close":5}\n{"type":"goodbye","message":"x"}',
        b'{"to":"room","key":"d","id":3,"prev":3}\n{"type":"goodbye","message":"x"}',
        b'{"to":"room","key":"d","id":3,"prev":-1}\n{"type":"goodbye","message":"x"}',
        b'{"to":"room","key":"d","prev":"2"}\n{"type":"goodbye","message":"x"}',
        b'{"to":"room","key":"d"}\n{"type":"nonsense"}',
        b'{"to":"room","key":"d"}\nnot json',
    ],
)
def test_what_is_not_a_frame_raises_bad_frame(data):
    with pytest.raises(BadFrame):
        decode_frame(data)
