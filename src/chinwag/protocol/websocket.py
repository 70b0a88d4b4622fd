"""The native protocol over WebSocket (sans-I/O): one JSON object per text frame.

Input needs nothing new: the connection unframes WebSocket frames (the `websockets`
package's sans-I/O parser) and hands each text message to `receive_message`, as line
framing hands a line.

Output is where WebSocket differs: `render` returns whole server frames, not lines. A
server's frames are not masked (RFC 6455, 5.1), so the bytes of a frame do not depend on
the connection, and the fan-out, which renders once per codec class, builds each frame once
and writes the same bytes to every WebSocket recipient. That only holds without
permessage-deflate (per-connection compressor state), which the server never negotiates.

Two notices become control frames: the keep-alive ping is a WebSocket ping (browsers answer
it themselves, without the page), and a goodbye is followed by a close frame, since the
server closes the connection after every goodbye.
"""

from __future__ import annotations

import struct

from chinwag.protocol import events as ev
from chinwag.protocol.native import NativeCodec

OP_TEXT = 0x1
OP_CLOSE = 0x8
OP_PING = 0x9

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003  # a binary frame: the protocol is text only
CLOSE_TOO_BIG = 1009


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame (server to client)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, size))
    elif size < 0x10000:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


def text_frame(payload: bytes) -> bytes:
    return frame(OP_TEXT, payload)


def close_frame(code: int = CLOSE_NORMAL, reason: str = "") -> bytes:
    """A close frame; the reason is cut to fit a control frame's 125 bytes."""
    data = reason.encode()[:123].decode(errors="ignore").encode()
    return frame(OP_CLOSE, struct.pack("!H", code) + data)


class WebSocketCodec(NativeCodec):
    """Native JSON, each notice one text frame; a class of its own so that the fan-out's
    once-per-class cache holds frames for WebSocket clients and lines for TCP ones."""

    dialect = "websocket"
    __slots__ = ()

    def render(self, notice: ev.Notice, viewer: str | None) -> bytes:
        cls = notice.__class__
        if cls is ev.KeepAlive:
            return frame(OP_PING, b"chinwag")
        line = super().render(notice, viewer)
        data = text_frame(line[:-1])  # one object per frame: no line terminator
        if cls is ev.Goodbye:
            return data + close_frame(CLOSE_NORMAL, "goodbye")
        return data
