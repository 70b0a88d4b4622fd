"""IRC lines (RFC 1459 / RFC 2812, with IRCv3 message tags), parsed and built; sans-I/O.

    [@tags SPACE] [:source SPACE] COMMAND [params...] [SPACE :trailing]

Parsing follows the `irc-parser-tests` vectors (msg-split): runs of spaces separate
tokens, a tag value is unescaped (`\\:` `;`, `\\s` space, `\\\\` `\\`, `\\r`, `\\n`, an unknown
escape is the character itself, a lone trailing `\\` is dropped), and a line without a
command is None (the RFC says an empty message is ignored). It never raises.

Building never lets a parameter forge another line or parameter: CR, LF and NUL become
spaces, a middle parameter loses its spaces, and the last is sent as trailing when it must.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# RFC 1459: a line is at most 512 bytes with its CRLF; IRCv3 allows 8191 bytes of tags
# (with the '@' and the space after them) on top.
MAX_LINE = 512
MAX_TAGS = 8191
EOL = b"\r\n"

_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE = str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})
_UNSAFE = str.maketrans({"\r": " ", "\n": " ", "\0": " "})


@dataclass(frozen=True, slots=True)
class Message:
    command: str  # as sent (callers compare it upper-cased)
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def unescape_tag(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, None)
        if nxt is not None:
            out.append(_UNESCAPE.get(nxt, nxt))
    return "".join(out)


def escape_tag(value: str) -> str:
    return value.translate(_ESCAPE)


def _tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if key:
            tags[key] = unescape_tag(value)
    return tags


def parse(line: str) -> Message | None:
    """One line (without its CRLF) as a Message, or None if it holds no command."""
    rest = line.lstrip(" ")
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        text, _, rest = rest[1:].partition(" ")
        tags = _tags(text)
        rest = rest.lstrip(" ")
    source: str | None = None
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    command, _, rest = rest.partition(" ")
    if not command:
        return None
    params: list[str] = []
    while rest:
        rest = rest.lstrip(" ")
        if not rest:
            break
        if rest.startswith(":"):
            params.append(rest[1:])
            break
        param, _, rest = rest.partition(" ")
        params.append(param)
    return Message(command, tuple(params), source, tags)


def split_sizes(line: bytes) -> tuple[int, int]:
    """(bytes of tags with their '@' and space, bytes of the rest) of a raw line."""
    if line.startswith(b"@"):
        end = line.find(b" ")
        if end < 0:
            return len(line), 0
        return end + 1, len(line) - end - 1
    return 0, len(line)


def safe(text: str) -> str:
    """A parameter's text with nothing that could end the line."""
    return text.translate(_UNSAFE)


def build(
    command: str,
    *params: str,
    source: str | None = None,
    tags: str = "",
) -> bytes:
    """One line, CRLF-terminated. `tags` is the already-escaped `k=v;k2=v2` text."""
    parts: list[str] = []
    if tags:
        parts.append("@" + tags)
    if source:
        parts.append(":" + safe(source).replace(" ", ""))
    parts.append(command)
    if params:
        *middle, last = params
        parts.extend(safe(p).replace(" ", "").lstrip(":") or "*" for p in middle)
        last = safe(last)
        if not last or " " in last or last.startswith(":"):
            last = ":" + last
        parts.append(last)
    return " ".join(parts).encode("utf-8", "replace") + EOL


def tag_text(pairs: list[tuple[str, str]]) -> str:
    """`time=...;msgid=...` from (key, value) pairs; empty values give the bare key."""
    return ";".join(f"{k}={escape_tag(v)}" if v else k for k, v in pairs)


def chunks(text: str, budget: int) -> list[str]:
    """`text` cut into pieces of at most `budget` UTF-8 bytes, at character boundaries
    and at a space where one is near, so that each fits one line."""
    budget = max(budget, 16)
    data = text.encode("utf-8")
    if len(data) <= budget:
        return [text]
    out: list[str] = []
    while data:
        if len(data) <= budget:
            out.append(data.decode("utf-8"))
            break
        cut = budget
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # not inside a UTF-8 sequence
            cut -= 1
        space = data.rfind(b" ", budget // 2, cut)
        if space > 0:
            cut = space + 1
        out.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    return out
