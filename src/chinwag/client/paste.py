"""Pasted lines go out as one message, and messages are paced: a paste is never lost.

A terminal without bracketed paste (or a pipe) hands a 30-line paste to the line client as
30 lines, all at once. Sent as 30 messages they ran into the server's message rate (a burst
of 20, then 5 a second) and the rest were refused. Two guards, both on the client's side:

- `PasteInput` wraps a LineInput: lines of text that arrive within `window` of each other
  (no one types a line and Enter that fast) are read as one multi-line message. A command
  line (`/...`) is never folded in: it ends the batch and is read on its own next.
- `Pacer` is a token bucket a little below the server's default message rate: messages
  past it wait their turn instead of being refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable

from chinwag.client.terminal import LineInput

PASTE_WINDOW = 0.05  # seconds: lines closer than this were pasted, not typed
MAX_PASTE_WINDOW = 5.0


def paste_window(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    """The window, or CHINWAG_PASTE_WINDOW's seconds: over a slow link (ssh with lag) or on a
    busy machine a paste reaches the client in pieces further apart than 50 ms."""
    try:
        window = float(environ.get("CHINWAG_PASTE_WINDOW", PASTE_WINDOW))
    except ValueError:
        return PASTE_WINDOW
    return min(max(window, 0.0), MAX_PASTE_WINDOW) if window == window else PASTE_WINDOW


MAX_MESSAGE_BYTES = 10_000  # a batch is cut into messages of at most this much UTF-8


def is_text(line: str) -> bool:
    """A line that is said to the room (`//x` says `/x`), not a command."""
    return not line.startswith("/") or line.startswith("//")


class PasteInput:
    """A LineInput whose `read` returns each batch of pasted text lines joined by `\\n`."""

    def __init__(self, inner: LineInput, window: float = PASTE_WINDOW) -> None:
        self.inner = inner
        self.window = window
        self._reading: asyncio.Task[str | None] | None = None  # a read still waiting
        self._ahead: list[str | None] = []  # read while gathering, not yet handed out

    async def read(self) -> str | None:
        if self._ahead:
            line = self._ahead.pop(0)
        else:
            _, line = await self._next()
        if line is None or not is_text(line):
            return line
        lines = [line]
        while True:
            came, more = await self._next(self.window)
            if not came:
                break
            if more is None or not is_text(more):
                self._ahead.append(more)
                break
            lines.append(more)
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()  # Enter pressed twice is not a blank line to send
        return "\n".join(lines)

    async def _next(self, within: float | None = None) -> tuple[bool, str | None]:
        """(True, the inner terminal's next line), or (False, None) if none came `within`
        seconds: the read goes on, and its line is the next one handed out."""
        if self._reading is None:
            self._reading = asyncio.ensure_future(self.inner.read())
        done, _ = await asyncio.wait({self._reading}, timeout=within)
        if not done:
            return False, None
        reading, self._reading = self._reading, None
        return True, reading.result()

    def close(self) -> None:
        """Stop the read still waiting, if any (the session is over)."""
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None

    def show(self, line: str) -> None:
        self.inner.show(line)

    async def ask(self, question: str, *, secret: bool = False) -> str | None:
        return await self.inner.ask(question, secret=secret)

    def session(self) -> contextlib.AbstractContextManager[None]:
        return self.inner.session()


def chunks(text: str, limit: int = MAX_MESSAGE_BYTES) -> list[str]:
    """`text` cut at line ends into pieces of at most `limit` bytes of UTF-8 (a single
    longer line stays whole: the server says it is too long, it is not cut mid-word)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        cost = len(line.encode()) + 1
        if current and size + cost > limit:
            pieces.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += cost
    pieces.append("\n".join(current))
    return pieces


class Pacer:
    """A token bucket: `wait()` returns at once while there are tokens, else after the time
    it takes to earn one. Clock and sleep are injectable so tests need no real time."""

    def __init__(
        self,
        rate: float = 4.0,
        burst: float = 15.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._at = clock()

    async def wait(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            await self._sleep((1 - self._tokens) / self.rate)
            self._tokens = 1.0
            self._at = self._clock()
        self._tokens -= 1
