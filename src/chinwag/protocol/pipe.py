"""The pipe dialect (seed 002): `KIND|field|...` lines.

Seed 002 gives `USER|name` -> `USER_OK`, `MSG|text` -> `MSG_OK` and `DIR` -> `Users logged in:
a, b`. Where it is silent we keep its shape: others' messages arrive as `MSG|sender|text`
(`[room] ` starts the text when it was said in a room other than general),
errors as `ERROR|why`, server notices as `INFO|text`, private messages as
`PRIVATE|sender|text` (sent with `PRIVATE|target|text`, confirmed with `PRIVATE_OK`).
`PING` -> `PONG` and `QUIT` are extras. Command words are matched case-insensitively.
"""

from __future__ import annotations

from chinwag.protocol import events as ev
from chinwag.protocol.common import SeedCodec
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.text import inert, message_lines

_USAGE = "use USER|name, MSG|text, PRIVATE|name|text, DIR, PING or QUIT"
_NOT_JOINED = "Register first with USER|name"


def _line(*fields: str) -> bytes:
    """One line; no control character of anyone's text reaches a terminal raw."""
    return "|".join(inert(f) for f in fields).encode() + b"\n"


def _said(kind: str, sender: str, message: str, where: str = "") -> bytes:
    """A message as one `KIND|sender|text` line per line of it: each line names its sender."""
    return b"".join(_line(kind, sender, where + line) for line in message_lines(message))


def _welcome(notice: ev.Welcome, viewer: str | None) -> bytes:
    return b"USER_OK\n"


def _user_list(notice: ev.UserList, viewer: str | None) -> bytes:
    return _line("Users logged in: " + ", ".join(notice.users))


def _pong(notice: ev.PongReply, viewer: str | None) -> bytes:
    return b"PONG\n"


def _error(notice: ev.Error, viewer: str | None) -> bytes:
    return _line("ERROR", _NOT_JOINED if notice.code == ErrorCode.NOT_JOINED else notice.message)


class PipeCodec(SeedCodec):
    """Seed 002's pipe-separated commands."""

    dialect = "pipe"
    own_echo = b"MSG_OK\n"
    specials = {
        ev.Welcome: _welcome,
        ev.UserList: _user_list,
        ev.PongReply: _pong,
        ev.Error: _error,
    }
    __slots__ = ()

    def receive_message(self, message: bytes) -> None:
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError:
            self._bad(ErrorCode.BAD_UTF8, "Line is not valid UTF-8")
            return
        if not text.strip():
            return
        word, _, rest = text.partition("|")
        match word.strip().upper():
            case "USER":
                self._emit(ev.Join(rest.strip()))
            case "MSG":
                self._emit(ev.Chat(rest))
            case "DIR":
                self._emit(ev.ListUsers())
            case "PRIVATE":
                target, sep, said = rest.partition("|")
                if not sep:
                    self._bad(ErrorCode.MISSING_FIELD, "Use PRIVATE|name|text")
                else:
                    self._emit(ev.Private(target.strip(), said))
            case "PING":
                self._emit(ev.Ping())
            case "QUIT":
                self._emit(ev.Quit())
            case _:
                shown = word.strip()[:40]
                self._bad(ErrorCode.UNKNOWN_COMMAND, f"Unknown command '{shown}': {_USAGE}")

    # ------------------------------------------------------------------ the style

    def chat_line(self, notice: ev.ChatMessage) -> bytes:
        where = "" if notice.room == ev.DEFAULT_ROOM else f"[{notice.room}] "
        return _said("MSG", notice.username, notice.message, where)

    def private_in(self, notice: ev.PrivateMessage) -> bytes:
        return _said("PRIVATE", notice.username, notice.message)

    def private_out(self, notice: ev.PrivateMessage) -> bytes:
        return b"PRIVATE_OK\n"

    def system_line(self, notice: ev.Notice, text: str) -> bytes:
        return _line("INFO", text)
