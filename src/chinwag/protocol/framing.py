"""Splitting a byte stream into bounded lines (sans-I/O), apart from any codec.

Framing cuts the stream into messages; a codec reads whole messages. Keeping them apart lets
a connection swap its codec (dialect detection) without moving a half-read line, and lets
another framing (one WebSocket text frame per message) feed the same codecs.

A line longer than `max_line` is never held in memory whole: the framing drops its bytes
as they arrive and reports one `LineTooLong` in its place, then resynchronises on the
next newline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

DEFAULT_MAX_LINE = 64 * 1024


@dataclass(frozen=True, slots=True)
class LineTooLong:
    size: int


class LineFraming:
    """Bytes in, complete lines (without the terminator) out."""

    __slots__ = ("_buffer", "_dropped", "max_line")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        # An unfinished line, or None: most reads end on a newline, and an idle connection
        # then holds no buffer at all (an empty bytearray is 56 bytes).
        self._buffer: bytearray | None = None
        # While an oversized line is being discarded, the bytes of it dropped so far.
        self._dropped: int | None = None

    def feed(self, data: bytes) -> Iterator[bytes | LineTooLong]:
        """Yield every complete line now available; keep the rest for later."""
        held = self._buffer
        buffer: bytes | bytearray
        if held is None:
            buffer = data  # nothing held: split the bytes as they came, without a copy
        else:
            held += data
            buffer = held
        start = 0
        max_line = self.max_line
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            if self._dropped is not None:
                size = self._dropped + end - start
                self._dropped = None
                yield LineTooLong(size)
            else:
                line_end = end - 1 if end > start and buffer[end - 1] == 0x0D else end
                if line_end - start > max_line:
                    yield LineTooLong(line_end - start)
                else:
                    yield bytes(buffer[start:line_end])
            start = end + 1
        rest = len(buffer) - start
        if self._dropped is not None:
            self._dropped += rest
            self._buffer = None
        elif rest > max_line + 1:  # +1 leaves room for a trailing \r
            self._dropped = rest
            self._buffer = None
        elif not rest:
            self._buffer = None
        elif held is None:
            self._buffer = bytearray(data[start:])
        elif start:
            del held[:start]

    def pending(self) -> int:
        """Bytes of an unfinished line held in memory."""
        return 0 if self._buffer is None else len(self._buffer)

    def finish(self) -> bytes | LineTooLong | None:
        """At end of stream: the unterminated last line, if any."""
        if self._dropped is not None:
            dropped, self._dropped = self._dropped, None
            return LineTooLong(dropped)
        if self._buffer is None:
            return None
        line = bytes(self._buffer).rstrip(b"\r")
        self._buffer = None
        return line if len(line) <= self.max_line else LineTooLong(len(line))
