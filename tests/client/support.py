"""Helpers for client tests: waiting for events, free ports, subprocess servers."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from typing import TypeVar

from chinwag.client.library import ChatClient
from chinwag.client.status import ClientEvent
from tests.helpers import TIMEOUT

E = TypeVar("E")


async def expect(client: ChatClient, kind: type[E], timeout: float = TIMEOUT) -> E:
    """Skip events until one of type `kind` arrives (bounded)."""
    async with asyncio.timeout(timeout):
        while True:
            event = await client.receive()
            if isinstance(event, kind):
                return event


async def collect(client: ChatClient, kind: type[E], count: int) -> list[E]:
    return [await expect(client, kind) for _ in range(count)]


async def drain(client: ChatClient, quiet: float = 0.2) -> list[ClientEvent]:
    """Every event that arrives until the stream has been quiet for `quiet` seconds."""
    events: list[ClientEvent] = []
    while True:
        try:
            events.append(await asyncio.wait_for(client.receive(), quiet))
        except TimeoutError:
            return events


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    async with asyncio.timeout(20):
        while True:
            assert proc is None or proc.poll() is None, "server exited early"
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


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
