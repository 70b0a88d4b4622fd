"""Screenshots of the main screen (pytest-textual-snapshot), against a real server.

The server runs in a thread (the snapshot runs the app on an event loop of its own); the
other people's clients run on the server's loop. Times and days are fixed (`FIXED`), and
names keep their colours, so a screenshot changes only when the screen does:
`pytest tests/tui/test_snapshots.py --snapshot-update` after a change meant to show.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from chinwag.client.library import ChatClient
from chinwag.client.state import key
from chinwag.tui.app import ChatApp
from chinwag.tui.entry import ChatInput
from tests.client.support import settle
from tests.tui.support import FIXED, NO_RECONNECT, ServerThread, lines, until


async def talk(port: int) -> list[ChatClient]:
    """bob and carol, in #general and #dev, say a few things before alice arrives."""
    bob, carol = ChatClient(reconnect=NO_RECONNECT), ChatClient(reconnect=NO_RECONNECT)
    await bob.connect("127.0.0.1", port, "bob")
    await carol.connect("127.0.0.1", port, "carol")
    await bob.join_room("dev")
    await settle(bob)
    await bob.set_topic("dev", "Builds, deploys and **release** notes")
    await bob.set_topic("general", "Say hello. Be kind.")
    await carol.join_room("dev")
    await settle(carol)
    await bob.chat("morning all, the **release** is out: see `chinwag --help`")
    await carol.chat("nice! _finally_ the member list\nand day separators too")
    await carol.chat("alice: can you check the docs?")
    await settle(bob)
    await settle(carol)
    return [bob, carol]


@pytest.fixture
def server():
    with ServerThread() as running:
        yield running


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_main_screen(snap_compare: Any, server: ServerThread, size: tuple[int, int]) -> None:
    clients = server.call(talk(server.port))
    app = ChatApp("127.0.0.1", server.port, "alice", reconnect=NO_RECONNECT, clock=FIXED, env={})

    async def arrive(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: any("check the docs" in s for s in lines(app)), "replay")
        app.query_one(ChatInput).cursor_blink = False
        await pilot.press(*"/join #dev", "enter")
        await until(pilot, lambda: app.in_view == key("dev"), "in #dev")
        await until(pilot, lambda: any("Builds" in s for s in lines(app)), "dev's replay")
        await pilot.press("ctrl+b")
        server.call(clients[0].chat("deployed to staging", "dev"))
        client = app.client
        assert client is not None
        await until(pilot, lambda: client.state.conversations[key("dev")].unread == 1)
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=size, run_before=arrive)
    finally:
        for client in clients:
            server.call(client.close())
