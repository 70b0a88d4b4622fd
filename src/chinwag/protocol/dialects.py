"""The dialects a listener can speak, by the names `--listen PORT=DIALECT` uses."""

from __future__ import annotations

from collections.abc import Callable

from chinwag.protocol.basic import BasicCodec
from chinwag.protocol.codec import Codec
from chinwag.protocol.detect import DetectingCodec
from chinwag.protocol.irc import IrcCodec
from chinwag.protocol.native import NativeCodec
from chinwag.protocol.pipe import PipeCodec
from chinwag.protocol.plain import PlainCodec
from chinwag.protocol.typed import TypedCodec

# A no-argument factory: one codec per connection.
CodecFactory = Callable[[], Codec]

DIALECTS: dict[str, CodecFactory] = {
    "native": NativeCodec,  # JSON lines (seed 004 and more)
    "typed": TypedCodec,  # seed 000
    "plain": PlainCodec,  # seed 001: netcat and telnet; greets first on its own port
    "pipe": PipeCodec,  # seed 002
    "basic": BasicCodec,  # seed 003
    "irc": IrcCodec,  # RFC 1459/2812 with IRCv3 capabilities: irssi, WeeChat, HexChat
    "auto": DetectingCodec,  # the first line picks native, basic, pipe, irc or plain
}


def codec_factory(dialect: str) -> CodecFactory:
    """The factory for a dialect name; ValueError names the known ones."""
    try:
        return DIALECTS[dialect]
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ValueError(f"unknown dialect {dialect!r} (known: {known})") from None
