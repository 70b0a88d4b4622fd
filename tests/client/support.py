"""Helpers for client tests: waiting for events strictly, subprocess servers."""

from __future__ import annotations

import asyncio
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
