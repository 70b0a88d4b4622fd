"""The plain dialect (seed 001): UTF-8 text lines, for netcat and telnet.

Every line a user types is said to the room, except the few commands below; others see it
as `Client 1: Hello World`. The server names each user `Client N` (the engine picks the
number; the space keeps the name out of reach of /nick) until `/nick NAME`. The sender does
not get its own line back: its terminal already shows it. Every line from the server itself
starts with `*** ` (no username can hold a space) so it never passes for a user's words.
Lines end in CRLF, as telnet wants.

On a dedicated plain port the server greets first and joins the user at once (the codec
queues the Join when asked for its greeting). Detected on the auto port, it joins on the
first line, which is then the user's first message.

`/help` needs no engine: it rides on a Ping whose token the codec recognises in the Pong.
"""

from __future__ import annotations

import re
from typing import Any

from chinwag.protocol import events as ev
from chinwag.protocol.common import EchoFreeCodec, describe, flat
from chinwag.protocol.events import ErrorCode

EOL = b"\r\n"
GREETING = "Hello! This is chinwag. Type a message and press Enter; /help lists the commands."
HELP = (
    "Commands:",
    "  /nick NAME        change your name",
    "  /users            who is online",
    "  /msg NAME text    a private message (/msg Client 1 hi works too)",
    "  /quit             leave (so do 'quit' and 'exit')",
    "  /help             this list",
    "Anything else you type is said to everyone.",
)
_HELP_TOKEN = "plain:help"
_QUIT_WORDS = frozenset({"/quit", "quit", "exit", "/exit", "/q"})
# A server-picked name has a space; it is matched first so `/msg Client 1 hi` works.
_MSG_TARGET = re.compile(r"(Client \d+|\S+)(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)


def _lines(*texts: str) -> bytes:
    return b"".join(flat(t).encode() + EOL for t in texts)


def _server(*texts: str) -> bytes:
    """Lines the server says itself."""
    return _lines(*(f"*** {t}" for t in texts))


def _stored(notice: ev.StoredNotice) -> bytes:
    if isinstance(notice, ev.ChatMessage):
        where = "" if notice.room == ev.DEFAULT_ROOM else f"[{notice.room}] "
        return _lines(f"{where}{notice.username}: {notice.message}")
    if isinstance(notice, ev.PrivateMessage):
        return _lines(f"[private] {notice.username}: {notice.message}")
    return _server(describe(notice))


class PlainCodec(EchoFreeCodec):
    """Seed 001's bare text lines, with a handful of slash commands."""

    dialect = "plain"
    __slots__ = ("_greets", "_joined")

    def __init__(self, *, greet: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._greets = greet  # False when detected: nothing goes out before the first line
        self._joined = False  # a Join has been emitted

    def greeting(self) -> bytes:
        if not self._greets:
            return b""
        self._join()
        return _server(GREETING)

    def _join(self) -> None:
        if not self._joined:
            self._joined = True
            self._emit(ev.Join(None))

    # ------------------------------------------------------------------ decoding

    def _receive_line(self, line: bytes) -> None:
        self._join()
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            self._bad(ErrorCode.BAD_UTF8, "Line is not valid UTF-8")
            return
        stripped = text.strip()
        if not stripped:
            return
        if stripped.lower() in _QUIT_WORDS:
            self._emit(ev.Quit())
            return
        if not stripped.startswith("/"):
            self._emit(ev.Chat(text.rstrip()))
            return
        command, _, rest = stripped.partition(" ")
        rest = rest.strip()
        match command.lower():
            case "/nick" | "/name":
                if rest:
                    self._emit(ev.Rename(rest))
                else:
                    self._bad(ErrorCode.MISSING_FIELD, "Usage: /nick NAME")
            case "/users" | "/who":
                self._emit(ev.ListUsers())
            case "/msg":
                self._private(rest)
            case "/help":
                self._emit(ev.Ping(_HELP_TOKEN))
            case "/ping":
                self._emit(ev.Ping())
            case _:
                shown = command[:40]
                self._bad(
                    ErrorCode.UNKNOWN_COMMAND, f"Unknown command {shown}; /help lists the commands"
                )

    def _private(self, rest: str) -> None:
        match = _MSG_TARGET.fullmatch(rest)
        message = match.group(2) if match else None
        if match is None or not message:
            self._bad(ErrorCode.MISSING_FIELD, "Usage: /msg NAME text")
            return
        self._emit(ev.Private(match.group(1), message))

    # ------------------------------------------------------------------ encoding

    def encode(self, notice: ev.Notice) -> bytes:
        match notice:
            case ev.ChatMessage():
                return b"" if self._is_own_echo(notice) else _stored(notice)
            case ev.PrivateMessage():
                if notice.username == self.username and notice.target != self.username:
                    return _lines(f"[private to {notice.target}] {notice.message}")
                return _stored(notice)
            case ev.TopicChanged():
                return _stored(notice)
            case ev.Welcome():
                self.username = notice.username
                others = [u for u in notice.users if u != notice.username]
                online = ", ".join(others) if others else "nobody else yet"
                return _server(
                    f"{notice.message} (/nick NAME picks another name)",
                    f"Online: {online}. Type /help for the commands.",
                )
            case ev.UserRenamed():
                if notice.old == self.username:
                    self.username = notice.new
                    return _server(f"You are now known as {notice.new}")
            case ev.PongReply():
                return _server(*HELP) if notice.token == _HELP_TOKEN else _server("Pong")
            case ev.Error():
                return _server(f"Error: {notice.message}")
            case ev.Goodbye():
                return _server(notice.message)
            case ev.HistoryPage() | ev.SearchResults():
                return b"".join(_stored(m) for m in notice.messages)
            case ev.KeepAlive():
                return b""  # netcat cannot answer; TCP keep-alive finds dead peers
        return _server(describe(notice))
