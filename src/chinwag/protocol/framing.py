"""Splitting a byte stream into bounded lines (sans-I/O).

A line longer than `max_line` is never held in memory whole: the splitter drops its bytes
as they arrive and reports one `LineTooLong` in its place, then resynchronises on the
next newline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

DEFAULT_MAX_LINE = 64 * 1024


@dataclass(frozen=True, slots=True)
class LineTooLong:
    size: int


class LineSplitter:
    """Bytes in, complete lines (without the terminator) out."""

    __slots__ = ("_buffer", "_discarding", "_dropped", "max_line")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._discarding = False
        self._dropped = 0

    def feed(self, data: bytes) -> Iterator[bytes | LineTooLong]:
        """Yield every complete line now available; keep the rest for later."""
        buffer = self._buffer
        buffer += data
        start = 0
        max_line = self.max_line
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
                yield LineTooLong(self._dropped + end - start)
            else:
                line_end = end - 1 if end > start and buffer[end - 1] == 0x0D else end
                if line_end - start > max_line:
                    yield LineTooLong(line_end - start)
                else:
                    yield bytes(buffer[start:line_end])
            start = end + 1
        rest = len(buffer) - start
        if self._discarding:
            self._dropped += rest
            buffer.clear()
        elif rest > max_line + 1:  # +1 leaves room for a trailing \r
            self._discarding = True
            self._dropped = rest
            buffer.clear()
        elif start:
            del buffer[:start]

    def pending(self) -> int:
        """Bytes of an unfinished line held in memory."""
        return len(self._buffer)

    def finish(self) -> bytes | LineTooLong | None:
        """At end of stream: the unterminated last line, if any."""
        if self._discarding:
            self._discarding = False
            return LineTooLong(self._dropped)
        if not self._buffer:
            return None
        line = bytes(self._buffer).rstrip(b"\r")
        self._buffer.clear()
        return line if len(line) <= self.max_line else LineTooLong(len(line))


E = TypeVar("E")


class LineReceiver(ABC, Generic[E]):
    """The receiving half every codec shares, server side and client side:
    bytes in, bounded lines through `_receive_item`, events of type E out."""

    __slots__ = ("_events", "_splitter", "eof")

    def __init__(self, max_line: int) -> None:
        self._splitter = LineSplitter(max_line)
        self._events: list[E] = []
        self.eof = False

    @property
    def max_line(self) -> int:
        return self._splitter.max_line

    def receive_data(self, data: bytes) -> None:
        for item in self._splitter.feed(data):
            self._receive_item(item)

    def receive_eof(self) -> None:
        self.eof = True
        last = self._splitter.finish()
        if last is not None:
            self._receive_item(last)

    def events_received(self) -> list[E]:
        """Drain the events decoded so far."""
        events = self._events
        self._events = []
        return events

    @abstractmethod
    def _receive_item(self, item: bytes | LineTooLong) -> None:
        """Decode one complete line (or an oversized one) into events."""
