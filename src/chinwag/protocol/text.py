"""Other people's text made safe for a terminal (sans-I/O, shared by codecs and clients).

A message, a topic or a name comes from another user (or, for a client, from a server).
Printed raw, `ESC [2J` clears the reader's screen, OSC 52 writes to their clipboard, BEL
rings, C1 controls do what ESC does on many terminals, a bare CR or a line break lets the
rest of a message pass for someone else's line, and bidirectional overrides reorder what
follows. The text dialects (plain, pipe, typed, basic) and the line client put such text
through `inert` (one line) or `message_lines` (a message, line by line); native JSON stays
lossless and leaves that to whoever renders it.
"""

from __future__ import annotations

import re

# Everything a terminal may act on instead of showing: C0 controls but tab, DEL, the C1
# controls, the line and paragraph separators, and the bidi marks, embeddings, overrides
# and isolates (the "Trojan Source" set). Tab is kept: it moves the cursor right, no more.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r"}
# str.isprintable() is False for every character above (they are all categories Cc, Cf,
# Zl or Zp), so a printable text needs no regex scan: the fast path of every function.

# What starts each line of a message after its first, where a dialect carries a message's
# lines in one field (typed, basic): a line that follows it cannot pass for a new message.
CONTINUATION = "  | "


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` as one line with every control shown escaped (`\\x1b[2J`, `\\n`); idempotent."""
    if text.isprintable() or _UNSAFE.search(text) is None:  # the common cases, no copy
        return text
    return _UNSAFE.sub(_escape, text)


def message_lines(text: str) -> list[str]:
    """A message's lines (split at every kind of line break), each made `inert`."""
    if text.isprintable() or _UNSAFE.search(text) is None:
        return [text]
    return [inert(line) for line in text.splitlines()] or [""]


def continued(text: str) -> str:
    """A message's lines joined again, every line after the first led by CONTINUATION."""
    if text.isprintable():  # no line break, nothing to escape (str's own scan is fastest)
        return text
    return ("\n" + CONTINUATION).join(message_lines(text))
