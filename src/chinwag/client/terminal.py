"""Where the line client's input comes from and its output goes (client layer, front end).

Two shapes behind one small interface:
- a terminal: prompt_toolkit's PromptSession under `patch_stdout`, so a message printed while
  the user types appears above the prompt and the half-typed line is redrawn intact;
- anything else (a pipe, a file, a test): plain lines from stdin, plain lines to stdout,
  no prompt, so scripts see exactly the chat and nothing else.

Questions (a username, a password) go through `ask`: on a terminal a password is read
without echo (like getpass) and never enters the input history; from a pipe it is the next
line, as getpass reads it there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from chinwag.protocol.text import inert

PromptText = Callable[[], str]


class LineInput(Protocol):
    async def read(self) -> str | None:
        """The next line typed, without its newline; None at end of input."""

    def show(self, line: str) -> None:
        """Print one line of output without disturbing what is being typed; its control
        characters are shown escaped (it may hold anyone's text)."""

    async def ask(self, question: str, *, secret: bool = False) -> str | None:
        """One answer to a question (`secret`: not echoed, not kept); None at end of input."""

    def session(self) -> contextlib.AbstractContextManager[None]:
        """The context in which reading and showing happen."""


class PlainInput:
    """Lines from a non-terminal stdin, read by a daemon thread so exit never waits on it."""

    def __init__(self) -> None:
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        loop = asyncio.get_running_loop()

        def pump() -> None:
            while True:
                try:
                    line = sys.stdin.readline()
                except (OSError, ValueError):
                    line = ""
                with contextlib.suppress(RuntimeError):  # the loop may be gone at exit
                    loop.call_soon_threadsafe(self._lines.put_nowait, line or None)
                if not line:
                    return

        self._thread = threading.Thread(target=pump, name="chinwag-stdin", daemon=True)
        self._thread.start()

    async def read(self) -> str | None:
        if self._thread is None:
            self._start()
        line = await self._lines.get()
        if line is None:
            self._lines.put_nowait(None)  # stay at end of input for later reads
            return None
        return line.rstrip("\r\n")

    def show(self, line: str) -> None:
        print(inert(line), flush=True)  # stdout may be a terminal though stdin is not

    async def ask(self, question: str, *, secret: bool = False) -> str | None:
        print(question, end="", flush=True)  # as input() and getpass() do without a terminal
        return await self.read()

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        yield


class TerminalInput:
    """A prompt_toolkit prompt whose text (`user@room> `) is recomputed at each redraw."""

    def __init__(self, prompt: PromptText) -> None:
        from prompt_toolkit import PromptSession

        self._prompt = prompt
        # The typed line is erased once entered: the server's echo shows a message (with
        # its time, once stored), so keeping the typed line too showed every message twice.
        self._session: PromptSession[str] = PromptSession(erase_when_done=True)
        self._questions: PromptSession[str] | None = None  # made at the first question

    async def read(self) -> str | None:
        try:
            return await self._session.prompt_async(self._prompt)
        except (EOFError, KeyboardInterrupt):  # Ctrl-D, Ctrl-C: leave
            return None

    def show(self, line: str) -> None:
        print(inert(line), flush=True)  # patch_stdout moves it above the prompt

    async def ask(self, question: str, *, secret: bool = False) -> str | None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import DummyHistory

        if self._questions is None:  # a session of its own: answers stay out of the history
            self._questions = PromptSession(history=DummyHistory())
        try:
            return await self._questions.prompt_async(question, is_password=secret)
        except (EOFError, KeyboardInterrupt):
            return None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        from prompt_toolkit.patch_stdout import patch_stdout

        with patch_stdout():
            yield


def open_input(prompt: PromptText) -> LineInput:
    """A terminal prompt when both ends are a terminal; plain lines otherwise."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return TerminalInput(prompt)
    return PlainInput()
