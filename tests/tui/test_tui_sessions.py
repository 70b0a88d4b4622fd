"""`chinwag tui` signing in (password asked in a modal, the token kept for next time) and
coming back after a server restart, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Input, Static

from chinwag.client.library import ChatClient
from chinwag.client.status import ReconnectPolicy
from chinwag.client.tokens import TokenStore
from chinwag.tui.app import ChatApp
from chinwag.tui.ask import AskScreen
from chinwag.tui.entry import ChatInput
from tests.helpers import free_port, running_server
from tests.tui.support import NO_RECONNECT, connected, lines, until

FAST = ReconnectPolicy(max_attempts=None, initial_delay=0.3, max_delay=0.5)


def test_an_account_is_asked_its_password_once_then_the_token_signs_in(tmp_path: Path):
    async def scenario():
        async with running_server(data=tmp_path) as server:
            maker = ChatClient(reconnect=NO_RECONNECT)
            await maker.connect("127.0.0.1", server.port, "guest1")
            await maker.register("alice", "correct horse battery")
            await maker.close()
            app = ChatApp("127.0.0.1", server.port, "alice", reconnect=NO_RECONNECT, env={})
            async with app.run_test(size=(120, 40)) as pilot:
                await until(
                    pilot,
                    lambda: isinstance(app.screen, AskScreen) and app.screen.query(Input),
                    "the question",
                )
                assert isinstance(app.screen, AskScreen) and app.screen.secret
                answer = app.screen.query_one(Input)
                assert answer.password  # typed hidden
                answer.value = "correct horse battery"
                await pilot.press("enter")
                await connected(pilot)
                assert app.client is not None and app.client.account == "alice"
                assert "(account)" in app.connection
            assert TokenStore().get("127.0.0.1", server.port, "alice") is not None
            again = ChatApp("127.0.0.1", server.port, "alice", reconnect=NO_RECONNECT, env={})
            async with again.run_test(size=(120, 40)) as pilot:
                await connected(pilot)  # no question this time: the saved token
                assert again.client is not None and again.client.account == "alice"
                assert not isinstance(again.screen, AskScreen)

    asyncio.run(scenario())


def test_after_a_restart_it_reconnects_and_shows_what_was_missed_once(tmp_path: Path):
    async def scenario():
        port = free_port()
        app = ChatApp("127.0.0.1", port, "alice", reconnect=FAST, env={})
        first = running_server(data=tmp_path, port=port)
        await first.__aenter__()
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await first.__aexit__(None, None, None)  # the server stops
            await until(pilot, lambda: app.connection.startswith("○"), "shown as lost")
            async with running_server(data=tmp_path, port=port):
                bob = ChatClient(reconnect=NO_RECONNECT)
                await bob.connect("127.0.0.1", port, "bob")
                for n in range(3):
                    await bob.chat(f"missed {n}")
                await until(pilot, lambda: app.connection.startswith("●"), "back")
                await until(pilot, lambda: any("missed 2" in s for s in lines(app)), "replay")
                await bob.chat("live")
                await until(pilot, lambda: any("bob: live" in s for s in lines(app)), "live")
                shown = [s for s in lines(app) if "bob: missed" in s]
                assert [s.split("bob: ")[1] for s in shown] == ["missed 0", "missed 1", "missed 2"]
                assert any("Reconnected" in s for s in lines(app))
                await bob.close()
                assert app.client is not None
                await app.client.quit()

    asyncio.run(scenario())


async def answer(pilot, text: str) -> None:
    """Type `text` into the modal question once it is up."""
    app = pilot.app
    await until(
        pilot, lambda: isinstance(app.screen, AskScreen) and app.screen.query(Input), "asked"
    )
    asked = app.screen
    asked.query_one(Input).value = text
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is not asked, "answered")


def test_a_guest_registers_from_inside_and_the_status_line_says_so(tmp_path: Path):
    async def scenario():
        async with running_server(data=tmp_path) as server:
            app = ChatApp("127.0.0.1", server.port, "dave", reconnect=NO_RECONNECT, env={})
            async with app.run_test(size=(120, 40)) as pilot:
                await connected(pilot)
                status = app.query_one("#status", Static)
                assert "connected as dave (guest)" in str(status.content)
                app.query_one(ChatInput).value = "/register"
                await pilot.press("enter")
                await answer(pilot, "a long enough password")
                await answer(pilot, "a long enough password")
                await until(pilot, lambda: "(account)" in str(status.content), "signed in")
                assert any("The account dave is yours." in s for s in lines(app))
            assert TokenStore().get("127.0.0.1", server.port, "dave") is not None

    asyncio.run(scenario())


def test_cut_off_for_good_it_says_so_and_quits_with_status_1():
    async def scenario():
        first = running_server()
        server = await first.__aenter__()
        app = ChatApp("127.0.0.1", server.port, "alice", reconnect=NO_RECONNECT, env={})
        async with app.run_test(size=(120, 40)) as pilot:
            await connected(pilot)
            await first.__aexit__(None, None, None)
            await until(pilot, lambda: "disconnected" in app.connection, "shown as ended")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: app.return_value is not None, "quit")
        assert app.return_value == 1

    asyncio.run(scenario())
