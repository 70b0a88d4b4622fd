"""Helpers for client tests: waiting for events strictly, subprocess servers."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path
from typing import TypeVar

from chinwag.client.library import ChatClient
from chinwag.client.status import ClientEvent, Disconnected, Reconnecting
from chinwag.protocol import events as ev
from tests.helpers import TIMEOUT

E = TypeVar("E")


# What `expect` may skip on its way: presence, which comes and goes around anything a test
# waits for, and status events. Content (messages, answers, errors) is never skipped.
NOISE: tuple[type, ...] = (
    ev.UserJoined,
    ev.UserLeft,
    ev.UserRenamed,
    Disconnected,
    Reconnecting,
)


async def expect(
    client: ChatClient, kind: type[E], timeout: float = TIMEOUT, skip: tuple[type, ...] = NOISE
) -> E:
    """The next event of type `kind`, skipping only `skip` kinds on the way (bounded).

    Anything else arriving first fails the test: a leaked private message would arrive
    exactly where a lenient wait would drop it.
    """
    async with asyncio.timeout(timeout):
        while True:
            event = await client.receive()
            if isinstance(event, kind):
                return event
            if not isinstance(event, skip):
                raise AssertionError(f"waiting for {kind.__name__}, got {event!r}")


async def collect(client: ChatClient, kind: type[E], count: int) -> list[E]:
    return [await expect(client, kind) for _ in range(count)]


async def settle(client: ChatClient) -> list[ClientEvent]:
    """Every event the server owed the client until now: a ping's answer comes after all of
    them, so this is exact (no quiet window to guess)."""
    await client.ping()
    events: list[ClientEvent] = []
    while True:
        try:
            events.append(client._events.get_nowait())
        except asyncio.QueueEmpty:
            return events


def start_server_process(port: int, data: Path) -> subprocess.Popen[bytes]:
    """`chinwag serve` as a child process; the caller kills it in a finally."""
    return subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ScriptedTerminal:
    """A LineInput the test types into; it records every line shown and question asked."""

    def __init__(self) -> None:
        self.typed: asyncio.Queue[str | None] = asyncio.Queue()
        self.screen: list[str] = []
        self.questions: list[tuple[str, bool]] = []
        self._cursor = 0
        self._changed = asyncio.Event()

    def type(self, *lines: str | None) -> None:
        for line in lines:
            self.typed.put_nowait(line)

    async def read(self) -> str | None:
        return await self.typed.get()

    def show(self, line: str) -> None:
        self.screen.append(line)
        self._changed.set()

    async def ask(self, question: str, *, secret: bool = False) -> str | None:
        self.questions.append((question, secret))
        self.show(question)
        return await self.typed.get()

    def session(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    async def expect(self, needle: str, timeout: float = TIMEOUT) -> str:
        """The next line shown (after the last one expected) that contains `needle`."""
        async with asyncio.timeout(timeout):
            while True:
                while self._cursor < len(self.screen):
                    line = self.screen[self._cursor]
                    self._cursor += 1
                    if needle in line:
                        return line
                self._changed.clear()
                await self._changed.wait()
