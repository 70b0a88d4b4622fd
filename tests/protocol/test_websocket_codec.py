"""WebSocketCodec: native JSON in whole server frames, parsed back by the `websockets`
client's own frame parser."""

from __future__ import annotations

import orjson
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN
from websockets.uri import parse_uri

from chinwag.protocol import events as ev
from chinwag.protocol.native import NativeCodec
from chinwag.protocol.websocket import WebSocketCodec, close_frame, text_frame


def frames(data: bytes) -> list[Frame]:
    client = ClientProtocol(parse_uri("ws://localhost/ws"), state=OPEN, max_size=None)
    client.receive_data(data)
    return [e for e in client.events_received() if isinstance(e, Frame)]


def test_a_notice_is_one_text_frame_of_its_native_json():
    codec = WebSocketCodec()
    notice = ev.ChatMessage(7, "general", "alice", "héllo " * 20_000, 1.5)
    data = codec.render(notice, None)
    (frame,) = frames(data)
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert frame.data == NativeCodec().render(notice, None).rstrip(b"\n")
    assert orjson.loads(frame.data)["message"] == notice.message


def test_frames_do_not_depend_on_the_viewer_so_they_are_shared():
    codec = WebSocketCodec()
    notice = ev.ChatMessage(7, "general", "alice", "hi", 1.5)
    assert WebSocketCodec.always_shared and not WebSocketCodec.personal
    assert codec.render(notice, "alice") == WebSocketCodec().render(notice, "bob")


def test_keepalive_is_a_ping_and_goodbye_ends_with_a_close_frame():
    codec = WebSocketCodec()
    (ping,) = frames(codec.render(ev.KeepAlive(1.0), "alice"))
    assert ping.opcode is Opcode.PING
    text, close = frames(codec.render(ev.Goodbye("bye"), "alice"))
    assert orjson.loads(text.data) == {"type": "goodbye", "message": "bye"}
    assert close.opcode is Opcode.CLOSE and close.data[:2] == b"\x03\xe8"


def test_frame_lengths_and_close_reasons():
    for size in (0, 125, 126, 65535, 65536):
        (frame,) = frames(text_frame(b"x" * size))
        assert len(frame.data) == size
    (close,) = frames(close_frame(1009, "é" * 200))
    assert len(close.data) <= 125 and bytes(close.data[2:]).decode()  # cut on a character boundary
