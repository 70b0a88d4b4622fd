"""Dialect detection for the default port: the client's first message picks its codec.

    a JSON object with `type`                        -> native
    a JSON object with `username` and `message`      -> basic
    `USER|...`                                       -> pipe
    `NICK `, `USER `, `PASS ` or `CAP ` (upper case)   -> irc
    anything else (a blank line too)                 -> plain; the line is its first message

Nothing is sent before that first line. A first line that cannot be judged (over the line
limit, or not UTF-8 and not `USER|`) is answered in native form and the next line decides:
guessing plain would put whoever sent it in the room under a `Client N` name.
Once decided, every message, the first included, goes to the chosen codec, which also
renders every notice. The connection owns the framing, so max_line holds from the first
byte, and once `inner` is set it may drop this shell and talk to the chosen codec directly.
"""

from __future__ import annotations

from collections.abc import Hashable

from chinwag.protocol import events as ev
from chinwag.protocol.basic import BasicCodec
from chinwag.protocol.codec import Codec
from chinwag.protocol.common import load_object
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.irc import IrcCodec
from chinwag.protocol.native import NativeCodec, encode_notice
from chinwag.protocol.pipe import PipeCodec
from chinwag.protocol.plain import PlainCodec

# What an IRC client's first line starts with. Upper case only: a person typing "nick
# here" to netcat means plain text.
IRC_OPENERS = frozenset({b"NICK", b"USER", b"PASS", b"CAP"})


def sniff(line: bytes) -> str | None:
    """The dialect a first line speaks, or None if it cannot be told."""
    stripped = line.strip()
    if stripped[:5].upper() == b"USER|":
        return "pipe"
    if stripped.split(b" ", 1)[0] in IRC_OPENERS and b" " in stripped:
        return "irc"
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


def _make(dialect: str) -> Codec:
    if dialect == "plain":
        return PlainCodec(greet=False)
    if dialect == "basic":
        return BasicCodec()
    if dialect == "pipe":
        return PipeCodec()
    if dialect == "irc":
        return IrcCodec()
    return NativeCodec()


class DetectingCodec(Codec):
    """Undecided until the first message; then a thin shell around the codec it chose."""

    dialect = "auto"
    always_shared = False  # it renders as its inner codec, which differs per connection
    __slots__ = ("_inner",)

    def __init__(self) -> None:
        super().__init__()
        self._inner: Codec | None = None

    @property
    def detected(self) -> str | None:
        """The dialect chosen, once the first message has come."""
        return None if self._inner is None else self._inner.dialect

    @property
    def inner(self) -> Codec | None:
        """The codec chosen. It holds no input of its own (the connection owns the framing),
        so a caller may drop this shell and talk to the inner codec from now on."""
        return self._inner

    def _take_events(self, inner: Codec) -> None:
        events = inner.events_received()
        if events:
            self._events.extend(events)

    def receive_message(self, message: bytes) -> None:
        inner = self._inner
        if inner is None:
            dialect = sniff(message)
            if dialect is None:
                self._bad(ErrorCode.BAD_UTF8, "Line is not valid UTF-8")
                return
            inner = self._inner = _make(dialect)
        inner.receive_message(message)
        self._take_events(inner)

    def receive_too_long(self, size: int, limit: int) -> None:
        inner = self._inner
        if inner is None:  # answered in native form; the next message decides
            super().receive_too_long(size, limit)
            return
        inner.receive_too_long(size, limit)
        self._take_events(inner)

    def receive_eof(self) -> None:
        inner = self._inner
        if inner is not None:
            inner.receive_eof()
            self._take_events(inner)

    def observe(self, notice: ev.Notice) -> None:
        if self._inner is not None:
            self._inner.observe(notice)

    def render(self, notice: ev.Notice, viewer: str | None) -> bytes:
        inner = self._inner
        if inner is None:
            return encode_notice(notice)  # only errors and goodbyes reach an undecided client
        return inner.render(notice, viewer)

    def share_key(self, notice: ev.Notice, viewer: str | None) -> Hashable | None:
        inner = self._inner
        return None if inner is None else inner.share_key(notice, viewer)
