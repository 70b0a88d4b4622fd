"""The pipe dialect (seed 002): `KIND|field|...` lines.

Seed 002 gives `USER|name` -> `USER_OK`, `MSG|text` -> `MSG_OK` and `DIR` -> `Users logged in:
a, b`. Where it is silent we keep its shape: others' messages arrive as `MSG|sender|text`
(`[room] ` starts the text when it was said in a room other than general),
errors as `ERROR|why`, server notices as `INFO|text`, private messages as
`PRIVATE|sender|text` (sent with `PRIVATE|target|text`, confirmed with `PRIVATE_OK`).
`PING` -> `PONG` and `QUIT` are extras. Command words are matched case-insensitively.
"""

from __future__ import annotations

from collections.abc import Hashable

from chinwag.protocol import events as ev
from chinwag.protocol.codec import Codec
from chinwag.protocol.common import describe, flat
from chinwag.protocol.events import ErrorCode

_USAGE = "use USER|name, MSG|text, PRIVATE|name|text, DIR, PING or QUIT"
_NOT_JOINED = "Register first with USER|name"


def _line(*fields: str) -> bytes:
    return "|".join(flat(f) for f in fields).encode() + b"\n"


def _stored(notice: ev.StoredNotice) -> bytes:
    if isinstance(notice, ev.ChatMessage):
        where = "" if notice.room == ev.DEFAULT_ROOM else f"[{notice.room}] "
        return _line("MSG", notice.username, where + notice.message)
    if isinstance(notice, ev.PrivateMessage):
        return _line("PRIVATE", notice.username, notice.message)
    return _line("INFO", describe(notice))


class PipeCodec(Codec):
    """Seed 002's pipe-separated commands."""

    dialect = "pipe"
    __slots__ = ()

    def _receive_line(self, line: bytes) -> None:
        try:
            text = line.decode("utf-8")
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
                target, sep, message = rest.partition("|")
                if not sep:
                    self._bad(ErrorCode.MISSING_FIELD, "Use PRIVATE|name|text")
                else:
                    self._emit(ev.Private(target.strip(), message))
            case "PING":
                self._emit(ev.Ping())
            case "QUIT":
                self._emit(ev.Quit())
            case _:
                shown = word.strip()[:40]
                self._bad(ErrorCode.UNKNOWN_COMMAND, f"Unknown command '{shown}': {_USAGE}")

    def share_key(self, notice: ev.Notice) -> Hashable | None:
        if isinstance(notice, ev.Welcome | ev.PrivateMessage):
            return None
        if isinstance(notice, ev.ChatMessage) and self._is_own(notice):
            return None
        if isinstance(notice, ev.UserRenamed) and notice.old == self.username:
            return None
        return PipeCodec

    def _is_own(self, notice: ev.ChatMessage) -> bool:
        return not notice.history and notice.username == self.username

    def encode(self, notice: ev.Notice) -> bytes:
        match notice:
            case ev.ChatMessage():
                return b"MSG_OK\n" if self._is_own(notice) else _stored(notice)
            case ev.PrivateMessage():
                if notice.username == self.username and notice.target != self.username:
                    return b"PRIVATE_OK\n"
                return _stored(notice)
            case ev.TopicChanged():
                return _stored(notice)
            case ev.Welcome():
                self.username = notice.username
                return b"USER_OK\n"
            case ev.UserList():
                return _line("Users logged in: " + ", ".join(notice.users))
            case ev.PongReply():
                return b"PONG\n"
            case ev.Error():
                text = _NOT_JOINED if notice.code == ErrorCode.NOT_JOINED else notice.message
                return _line("ERROR", text)
            case ev.UserRenamed():
                if notice.old == self.username:
                    self.username = notice.new
            case ev.HistoryPage() | ev.SearchResults():
                return b"".join(_stored(m) for m in notice.messages)
            case ev.KeepAlive():
                return b""  # the seed has no ping of its own; TCP keep-alive finds dead peers
        return _line("INFO", describe(notice))
