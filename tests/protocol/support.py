"""Helpers for codec tests: a codec with its line framing, as a connection holds them."""

from chinwag.protocol import events as ev
from chinwag.protocol.codec import Codec, feed_lines, finish_lines
from chinwag.protocol.framing import DEFAULT_MAX_LINE, LineFraming


class Lines:
    """A codec fed through its own LineFraming (what the server's connection does)."""

    def __init__(self, codec: Codec, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.codec = codec
        self.framing = LineFraming(max_line)

    def feed(self, data: bytes) -> list[ev.Command]:
        return feed_lines(self.codec, self.framing, data)

    def finish(self) -> list[ev.Command]:
        return finish_lines(self.codec, self.framing)


def feed(codec: Codec, data: bytes) -> list[ev.Command]:
    """Whole lines to a codec; the commands they decode to."""
    return feed_lines(codec, LineFraming(), data)


def addressed(codec: Codec, notice: ev.Notice, viewer: str | None) -> bytes:
    """What the server does with a notice for this connection alone: observe, then render."""
    codec.observe(notice)
    return codec.render(notice, viewer)
