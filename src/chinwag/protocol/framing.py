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


E = TypeVar("E")


class LineReceiver(LineSplitter, ABC, Generic[E]):
    """The receiving half every codec shares, server side and client side:
    bytes in, bounded lines through `_receive_item`, events of type E out.

    It is its own line splitter (a subclass, not a member): one object per connection
    instead of two saves 48 bytes on each.
    """

    __slots__ = ("_decoded", "eof")

    def __init__(self, max_line: int) -> None:
        super().__init__(max_line)
        # Events not yet drained, or None: a list is made only when an event comes, so an
        # idle connection holds none (an empty list is 56 bytes).
        self._decoded: list[E] | None = None
        self.eof = False

    @property
    def _events(self) -> list[E]:
        """The list decoders append events to, made at the first one."""
        events = self._decoded
        if events is None:
            events = self._decoded = []
        return events

    def receive_data(self, data: bytes) -> None:
        for item in self.feed(data):
            self._receive_item(item)

    def receive_eof(self) -> None:
        self.eof = True
        last = self.finish()
        if last is not None:
            self._receive_item(last)

    def events_received(self) -> list[E]:
        """Drain the events decoded so far."""
        events = self._decoded
        if events is None:
            return []
        self._decoded = None
        return events

    @abstractmethod
    def _receive_item(self, item: bytes | LineTooLong) -> None:
        """Decode one complete line (or an oversized one) into events."""
