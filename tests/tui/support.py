"""Helpers for TUI tests: waiting on the app, reading its screen, a server in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from rich.text import Text
from textual.pilot import Pilot

from chinwag.client.library import ChatClient
from chinwag.client.status import ReconnectPolicy
from chinwag.tui.app import ChatApp
from chinwag.tui.log import Line, MessageLog
from chinwag.tui.render import Clock
from tests.helpers import TIMEOUT, running_server

T = TypeVar("T")
FIXED = Clock(lambda _: "12:34", lambda _: "Monday 01 June 2026")  # screenshots never change
NO_RECONNECT = ReconnectPolicy(enabled=False)


async def until(pilot: Pilot[Any], ready: Callable[[], object], what: str = "") -> None:
    """Let the app run until `ready()` is true (bounded by TIMEOUT: then the test fails)."""
    try:
        async with asyncio.timeout(TIMEOUT * 2):
            while not ready():
                await pilot.pause(0.02)
    except TimeoutError:
        raise AssertionError(f"never happened: {what or ready}") from None


def lines(app: ChatApp, conversation: str | None = None) -> list[str]:
    """The plain text of every line of a conversation's log (the one in view by default)."""
    log: MessageLog = app.log_of(conversation or app.in_view)
    return [line.content.plain if isinstance(line.content, Text) else str(line.content)
            for line in log.query_children(Line)]  # fmt: skip


async def connected(pilot: Pilot[Any]) -> ChatApp:
    app = pilot.app
    assert isinstance(app, ChatApp)
    await until(pilot, lambda: app.client is not None and app.runner is not None, "joined")
    return app


async def guest(port: int, name: str) -> ChatClient:
    client = ChatClient(reconnect=NO_RECONNECT)
    await client.connect("127.0.0.1", port, name)
    return client


class ServerThread:
    """A real server on 127.0.0.1 in a thread of its own, for tests whose app runs its own
    event loop (snapshots); `call` runs a coroutine (another user's client) on its loop."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(TIMEOUT * 2):
            raise AssertionError("the server thread did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT * 2)

    def _run(self) -> None:
        self.loop.run_until_complete(self._serve())
        self.loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with running_server(**self.settings) as server:
            self.port = server.port
            self._ready.set()
            await self._stop.wait()

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(TIMEOUT * 2)
