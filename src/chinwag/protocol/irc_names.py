"""Names and text between chinwag and IRC (sans-I/O, pure functions).

Nicks. A chinwag name that is a valid IRC nick (RFC 2812: a letter or one of ``[]\\`_^{|}``
first, then letters, digits, those and ``-``) is its own nick. Any other name (José, 日本,
`1up`, `a.b`, the plain dialect's `Client 7`) is shown as a backquote followed by its
Punycode (RFC 3492) with `.` written `^` and a space written `{`:

    José -> `Jos-dma      日本 -> `wgv71a      a.b -> `a^b-      Client 7 -> `Client{7-

chinwag names never hold a backquote, `^` or `{`, so the two kinds never collide, and the
mapping is reversed exactly (`from_nick`); a nick that is not the image of a name goes to
the engine as typed, which refuses what is not a valid name (432).

Channels are rooms: `#dev` is room `dev` (room names are already valid channel names).

Text. IRC clients read control characters as formatting (colour, bold, reverse) and CTCP.
The gateway strips them, both ways: formatting an IRC user types does not reach the other
front ends, and nothing typed anywhere reaches an IRC user's terminal as a control code.
The one exception is a whole-message CTCP ACTION (`/me`), which passes as IRC sends it.
"""

from __future__ import annotations

import re
from functools import lru_cache

ESCAPE = "`"
_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}\-]*\Z")
_TO_IRC = str.maketrans({".": "^", " ": "{"})
_FROM_IRC = str.maketrans({"^": ".", "{": " "})
# mIRC colours (\x03 fg[,bg]), hex colours (\x04), then every other C0 control, DEL and
# the C1 controls (some terminals act on \x9b as CSI).
_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?"
    r"|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
_ACTION = "\x01ACTION "


def valid_nick(nick: str) -> bool:
    return _NICK.match(nick) is not None


@lru_cache(maxsize=8192)
def to_nick(name: str) -> str:
    """The IRC nick of a chinwag name (the same string when it is a valid nick)."""
    if valid_nick(name):
        return name
    try:
        coded = name.encode("punycode").decode("ascii")
    except UnicodeError:  # pragma: no cover (every str has a Punycode form)
        coded = name
    return ESCAPE + coded.translate(_TO_IRC)


def from_nick(nick: str) -> str:
    """The chinwag name a nick stands for: `to_nick` reversed where it applies."""
    if not nick.startswith(ESCAPE) or not 1 < len(nick) <= 200:
        return nick
    try:
        name = nick[1:].translate(_FROM_IRC).encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return nick
    return name if to_nick(name) == nick else nick


# The engine's rule for room names (engine/names.py; the protocol layer cannot import it):
# a channel that breaks it is refused here, before any arithmetic on its letters.
_ROOM = re.compile(r"[A-Za-z0-9_\-]{1,32}\Z")


def valid_room(room: str) -> bool:
    return _ROOM.match(room) is not None


def channel(room: str) -> str:
    return "#" + room


def room_of(target: str) -> str | None:
    """The room a channel names (`#dev` -> `dev`), None for a target that is no channel."""
    return target[1:] if target.startswith("#") and len(target) > 1 else None


def strip_controls(text: str) -> str:
    return _FORMATTING.sub("", text.replace("\t", " ").replace("\n", " "))


def clean(text: str) -> str:
    """Text without formatting or control characters, a whole `/me` kept as CTCP ACTION."""
    if text.startswith(_ACTION) and text.endswith("\x01") and len(text) > len(_ACTION):
        return _ACTION + strip_controls(text[len(_ACTION) : -1]) + "\x01"
    return strip_controls(text)
