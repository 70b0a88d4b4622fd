"""Is the other end a chinwag server's native port? Told before the join line is sent.

`chinwag chat` pointed at another port used to wait 10 s, give an empty reason, and its
join line could land in a room as text (the plain dialect says every line to the room).
A native port never speaks first and answers a ping even before a join; every other thing
on a port does one or the other differently, and joins nobody on a ping:
- plain, on its own port, greets unasked: a client that listens a moment before sending
  anything (`ChatClient(greeting_wait=...)`) hears it and sends nothing at all;
- typed and basic answer the ping (a JSON object without a username) with an error in
  their own shape, pipe with `ERROR|...`;
- a server that is not chinwag answers in its own protocol (HTTP, SSH...), or not at all.
`describe(line)` says what answered, for the message a person reads.
"""

from __future__ import annotations

import orjson

from chinwag.protocol.text import inert

PROBE = "chinwag:hello"  # the token of the ping sent before the join
_PIPE_WORDS = frozenset({"USER_OK", "MSG_OK", "ERROR", "INFO", "MSG", "PRIVATE", "PONG"})
_TYPED_TYPES = frozenset({"system", "message", "private"})


def dialect_of(line: bytes) -> str | None:
    """The chinwag dialect a server line is in, if it is one of them (native aside)."""
    text = line.decode("utf-8", "replace").strip()
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        if "type" not in obj and "username" in obj:
            return "basic"
        if obj.get("type") in _TYPED_TYPES:
            return "typed"
        return None
    if text.startswith("*** "):
        return "plain"
    if text.split("|", 1)[0] in _PIPE_WORDS:
        return "pipe"
    return None


def describe(line: bytes) -> str:
    """What answered, in a few words: `it speaks chinwag's pipe dialect (it said ...)`."""
    shown = inert(line.decode("utf-8", "replace").strip())
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    dialect = dialect_of(line)
    if dialect is not None:
        return f"it speaks chinwag's {dialect} dialect (it said {shown!r})"
    if not shown:
        return "it sent a line this client cannot read"
    return f"it answered {shown!r}, which is not chinwag"
