"""Dialect detection for the default port: the client's first line picks its codec.

    a JSON object with `type`                        -> native
    a JSON object with `username` and `message`      -> basic
    `USER|...`                                       -> pipe
    anything else (a blank line too)                 -> plain; the line is its first message

Nothing is sent before that first line. A first line that cannot be judged (over the line
limit, or not UTF-8 and not `USER|`) is answered in native form and the next line decides:
guessing plain would put whoever sent it in the room under a `Client N` name.
Once decided, every line, the first included, goes to the chosen codec, which also
encodes every notice; this codec only splits lines (so max_line holds from the first byte).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from chinwag.protocol import events as ev
from chinwag.protocol.basic import BasicCodec
from chinwag.protocol.codec import Codec
from chinwag.protocol.common import load_object
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.framing import LineTooLong
from chinwag.protocol.native import NativeCodec, encode_notice
from chinwag.protocol.pipe import PipeCodec
from chinwag.protocol.plain import PlainCodec


def sniff(line: bytes) -> str | None:
    """The dialect a first line speaks, or None if it cannot be told."""
    stripped = line.strip()
    if stripped[:5].upper() == b"USER|":
        return "pipe"
    if stripped.startswith(b"{"):
        obj = load_object(stripped)
        if isinstance(obj, dict):
            if "type" in obj:
                return "native"
            if "username" in obj and "message" in obj:
                return "basic"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "plain"


class DetectingCodec(Codec):
    """Undecided until the first line; then a thin shell around the codec it chose."""

    dialect = "auto"
    __slots__ = ("_inner",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._inner: Codec | None = None

    @property
    def detected(self) -> str | None:
        """The dialect chosen, once the first line has come."""
        return None if self._inner is None else self._inner.dialect

    @property
    def inner(self) -> Codec | None:
        """The codec chosen. It holds any unfinished line once receive_data returns, so a
        caller may drop this shell and feed the inner codec directly from the next byte on."""
        return self._inner

    def receive_data(self, data: bytes) -> None:
        inner = self._inner
        if inner is not None:  # decided earlier: the chosen codec splits its own lines
            inner.receive_data(data)
            self._take_events(inner)
            return
        super().receive_data(data)
        inner = self._inner
        if inner is not None:  # decided within these bytes: the unfinished line moves over
            inner._buffer, self._buffer = self._buffer, None
            inner._dropped, self._dropped = self._dropped, None

    def buffered(self) -> int:
        return self.pending() if self._inner is None else self._inner.buffered()

    def _take_events(self, inner: Codec) -> None:
        events = inner.events_received()
        if events:
            self._events.extend(events)

    def _receive_item(self, item: bytes | LineTooLong) -> None:
        inner = self._inner
        if inner is None:
            super()._receive_item(item)  # a line goes to _receive_line; too long stays undecided
            return
        inner._receive_item(item)
        self._take_events(inner)

    def _receive_line(self, line: bytes) -> None:
        dialect = sniff(line)
        if dialect is None:
            self._bad(ErrorCode.BAD_UTF8, "Line is not valid UTF-8")
            return
        self._inner = self._make(dialect)
        self._receive_item(line)

    def _make(self, dialect: str) -> Codec:
        max_line = self.max_line
        if dialect == "plain":
            return PlainCodec(greet=False, max_line=max_line)
        if dialect == "basic":
            return BasicCodec(max_line=max_line)
        if dialect == "pipe":
            return PipeCodec(max_line=max_line)
        return NativeCodec(max_line=max_line)

    def receive_eof(self) -> None:
        inner = self._inner
        if inner is not None:  # decided earlier: the chosen codec holds the unfinished line
            self.eof = True
            inner.receive_eof()
            self._take_events(inner)
            return
        super().receive_eof()  # the last line may still decide
        if self._inner is not None:
            self._inner.eof = True

    def share_key(self, notice: ev.Notice) -> Hashable | None:
        return None if self._inner is None else self._inner.share_key(notice)

    def encode(self, notice: ev.Notice) -> bytes:
        inner = self._inner
        if inner is None:
            return encode_notice(notice)  # only errors and goodbyes reach an undecided client
        data = inner.encode(notice)
        self.username = inner.username
        return data
