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

Accounts: `/register NAME PASSWORD` and `/login NAME PASSWORD` (a joined guest becomes the
account in place: the engine renames it and sends a new welcome, shown as `*** Logged in
as NAME`), `/logout`, `/password OLD NEW`. A password is the rest of the line after the name
(the new one after the old, which has no spaces). A line that holds a password is never
repeated back: an unusable one is answered with the command's usage alone.
"""

from __future__ import annotations

import re

from chinwag.protocol import events as ev
from chinwag.protocol.common import SeedCodec, describe
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.text import inert, message_lines

EOL = b"\r\n"
GREETING = "Hello! This is chinwag. Type a message and press Enter; /help lists the commands."
HELP = (
    "Commands:",
    "  /nick NAME                change your name",
    "  /users                    who is online",
    "  /msg NAME text            a private message (/msg Client 1 hi works too)",
    "  /register NAME PASSWORD   make NAME your account and sign in to it",
    "  /login NAME PASSWORD      sign in to your account",
    "  /password OLD NEW         change your account's password",
    "  /logout                   sign out (your login stops working) and leave",
    "  /kick NAME [reason]       disconnect someone (moderators)",
    "  /ban NAME [reason]        keep someone off the server (moderators)",
    "  /mute NAME [reason]       stop someone talking here (moderators)",
    "  /quit                     leave (so do 'quit' and 'exit')",
    "  /help                     this list",
    "Anything else you type is said to everyone.",
)
_HELP_TOKEN = "plain:help"
# The plain client is joined as a guest at once; it is not joined only where guests are
# refused (or its join failed): then an account is the way in.
_NOT_JOINED = "Sign in first: /login NAME PASSWORD, or /register NAME PASSWORD"
_QUIT_WORDS = frozenset({"/quit", "quit", "exit", "/exit", "/q"})
# A server-picked name has a space; it is matched first so `/msg Client 1 hi` works.
_MSG_TARGET = re.compile(r"(Client \d+|\S+)(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)


def _lines(*texts: str) -> bytes:
    """Lines for a terminal: no control character of anyone's text reaches it raw."""
    return b"".join(inert(t).encode() + EOL for t in texts)


def _said(prefix: str, message: str) -> bytes:
    """A message, each of its lines led by who said it: `a: ok` then `a: robert: hi`,
    never a bare `robert: hi` that would pass for robert's line."""
    return _lines(*(prefix + line for line in message_lines(message)))


def _server(*texts: str) -> bytes:
    """Lines the server says itself."""
    return _lines(*(f"*** {t}" for t in texts))


def _welcome(notice: ev.Welcome, viewer: str | None) -> bytes:
    others = [u for u in notice.users if u != notice.username]
    online = ", ".join(others) if others else "nobody else yet"
    if notice.account is not None:  # signed in: an account keeps its name
        first = f"Logged in as {notice.account}. {notice.message}"
    else:
        first = f"{notice.message} (/nick NAME picks another name)"
    return _server(first, f"Online: {online}. Type /help for the commands.")


def _renamed(notice: ev.UserRenamed, viewer: str | None) -> bytes:
    if notice.new == viewer:
        return _server(f"You are now known as {notice.new}")
    return _server(describe(notice))


def _pong(notice: ev.PongReply, viewer: str | None) -> bytes:
    return _server(*HELP) if notice.token == _HELP_TOKEN else _server("Pong")


def _error(notice: ev.Error, viewer: str | None) -> bytes:
    if notice.code == ErrorCode.NOT_JOINED:  # a plain client joins unasked, or signs in
        return _server(f"Error: {_NOT_JOINED}")
    return _server(f"Error: {notice.message}")


class PlainCodec(SeedCodec):
    """Seed 001's bare text lines, with a handful of slash commands."""

    dialect = "plain"
    specials = {
        ev.Welcome: _welcome,
        ev.UserRenamed: _renamed,
        ev.PongReply: _pong,
        ev.Error: _error,
    }
    __slots__ = ("_greets", "_joined")

    def __init__(self, *, greet: bool = True) -> None:
        super().__init__()
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

    def receive_message(self, message: bytes) -> None:
        self._join()
        try:
            text = message.decode("utf-8")
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
        command, *more = stripped.split(None, 1)  # any blank ends the command word
        rest = more[0].strip() if more else ""
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
            case "/register" | "/login":
                self._sign_in(command.lower(), rest)
            case "/logout":
                self._emit(ev.Logout())
            case "/kick" | "/ban" | "/mute":
                self._moderate(command.lower(), rest)
            case "/password":
                words = rest.split(None, 1)
                if len(words) == 2:
                    self._emit(ev.ChangePassword(words[0], words[1]))
                else:
                    self._bad(ErrorCode.MISSING_FIELD, "Usage: /password OLD NEW")
            case _:
                shown = command[:40]
                self._bad(
                    ErrorCode.UNKNOWN_COMMAND, f"Unknown command {shown}; /help lists the commands"
                )

    def _sign_in(self, command: str, rest: str) -> None:
        """`/register NAME PASSWORD` or `/login NAME PASSWORD` (nothing of it is echoed)."""
        words = rest.split(None, 1)
        if len(words) != 2:
            self._bad(ErrorCode.MISSING_FIELD, f"Usage: {command} NAME PASSWORD")
        elif command == "/register":
            self._emit(ev.Register(words[0], words[1]))
        else:
            self._emit(ev.Join(words[0], password=words[1]))

    def _moderate(self, command: str, rest: str) -> None:
        """`/kick`, `/ban`, `/mute` NAME [reason]: in general, the one room a plain user is
        in; a ban is server-wide (nobody is kept out of general alone)."""
        match = _MSG_TARGET.fullmatch(rest)
        if match is None:
            self._bad(ErrorCode.MISSING_FIELD, f"Usage: {command} NAME [reason]")
            return
        name, reason = match.group(1), (match.group(2) or "").strip()
        if command == "/kick":
            self._emit(ev.Kick(ev.DEFAULT_ROOM, name, reason))
        elif command == "/ban":
            self._emit(ev.Ban(name, reason=reason))
        else:
            self._emit(ev.Mute(ev.DEFAULT_ROOM, name, reason=reason))

    def _private(self, rest: str) -> None:
        match = _MSG_TARGET.fullmatch(rest)
        message = match.group(2) if match else None
        if match is None or not message:
            self._bad(ErrorCode.MISSING_FIELD, "Usage: /msg NAME text")
            return
        self._emit(ev.Private(match.group(1), message))

    # ------------------------------------------------------------------ the style

    def chat_line(self, notice: ev.ChatMessage) -> bytes:
        where = "" if notice.room == ev.DEFAULT_ROOM else f"[{notice.room}] "
        return _said(f"{where}{notice.username}: ", notice.message)

    def private_in(self, notice: ev.PrivateMessage) -> bytes:
        return _said(f"[private] {notice.username}: ", notice.message)

    def private_out(self, notice: ev.PrivateMessage) -> bytes:
        return _said(f"[private to {notice.target}] ", notice.message)

    def system_line(self, notice: ev.Notice, text: str) -> bytes:
        return _server(text)
