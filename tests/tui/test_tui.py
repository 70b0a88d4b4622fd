"""`chinwag tui` driven by Textual's Pilot against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio

from textual import events
from textual.widgets import Static

from chinwag.client.state import key
from chinwag.protocol import events as ev
from chinwag.tui.app import ChatApp
from chinwag.tui.entry import ChatInput
from tests.client.support import expect, settle
from tests.helpers import running_server
from tests.tui.support import NO_RECONNECT, connected, guest, lines, until


def app_for(port: int, user: str = "alice") -> ChatApp:
    return ChatApp("127.0.0.1", port, user, reconnect=NO_RECONNECT, env={})


def sidebar(app: ChatApp) -> list[str]:
    from textual.widgets import OptionList

    options = app.query_one("#sidebar", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def type_line(pilot, text: str) -> None:
    entry = pilot.app.query_one(ChatInput)
    entry.value = text
    await pilot.press("enter")


def test_log_in_switch_rooms_and_count_what_arrives_elsewhere():
    async def scenario():
        async with running_server() as server:
            app = app_for(server.port)
            async with app.run_test(size=(120, 40)) as pilot:
                await connected(pilot)
                assert any("Welcome to chinwag, alice!" in line for line in lines(app))
                bob = await guest(server.port, "bob")
                await bob.join_room("dev")
                await expect(bob, ev.RoomJoined)
                await type_line(pilot, "/join dev")
                await until(pilot, lambda: app.in_view == key("dev"), "in #dev")
                await until(pilot, lambda: "#dev" in sidebar(app))
                await type_line(pilot, "/switch general")
                await until(pilot, lambda: app.in_view == key("general"))
                await bob.chat("alice: the build is red", "dev")
                await bob.chat("never mind", "dev")
                for _ in range(2):
                    await expect(bob, ev.ChatMessage)  # the echoes of bob's own
                await until(pilot, lambda: "#dev 2 @1" in sidebar(app), "counted")
                assert app.notified == 1  # the mention rang; the other did not
                await pilot.press("ctrl+n")
                assert app.in_view == key("dev")
                assert "#dev" in sidebar(app)  # read: the counts are gone
                shown = lines(app)
                assert shown.index("── new messages ──") < next(
                    i for i, line in enumerate(shown) if "the build is red" in line
                )
                await type_line(pilot, "hello bob")
                said = await expect(bob, ev.ChatMessage)
                assert (said.room, said.message) == ("dev", "hello bob")
                await until(pilot, lambda: any("alice: hello bob" in s for s in lines(app)))
                await pilot.pause()
                assert not any("(sending)" in line for line in lines(app))  # the echo came
                await bob.close()
                await type_line(pilot, "/quit")
                await until(pilot, lambda: app.return_value == 0, "quit")

    asyncio.run(scenario())


def test_private_messages_open_a_conversation_and_ring():
    async def scenario():
        async with running_server() as server:
            app = app_for(server.port)
            async with app.run_test(size=(120, 40)) as pilot:
                await connected(pilot)
                bob = await guest(server.port, "bob")
                await bob.private("alice", "psst")
                await expect(bob, ev.PrivateMessage)  # bob's own copy
                await until(pilot, lambda: "@bob 1 @1" in sidebar(app), "a private message")
                assert app.notified == 1
                app.select(key("bob", private=True))
                await type_line(pilot, "yes?")
                answer = await expect(bob, ev.PrivateMessage)
                assert (answer.username, answer.message) == ("alice", "yes?")
                await bob.close()

    asyncio.run(scenario())


def test_scrolling_past_the_top_loads_older_history():
    async def scenario():
        async with running_server(message_rate=0) as server:
            bob = await guest(server.port, "bob")
            for n in range(70):
                await bob.chat(f"line {n}")
            await settle(bob)
            app = app_for(server.port)
            async with app.run_test(size=(100, 30)) as pilot:
                await connected(pilot)
                await until(pilot, lambda: any("line 69" in s for s in lines(app)), "replay")
                assert not any("bob: line 49" in s for s in lines(app))  # only the last 20
                log = app.log_of(app.in_view)
                await until(pilot, lambda: log.at_bottom)
                log.scroll_home(animate=False)
                await pilot.pause()
                wheel = events.MouseScrollUp(log, 1, 1, 0, -1, 0, False, False, False)
                log.post_message(wheel)  # the mouse wheel at the top loads a page
                await until(pilot, lambda: any("bob: line 49" in s for s in lines(app)), "wheel")
                log.scroll_end(animate=False)
                for _ in range(40):
                    await pilot.press("pageup")
                    await pilot.pause(0.05)
                    if any("(the beginning of this conversation)" in s for s in lines(app)):
                        break
                shown = [s for s in lines(app) if "bob: line" in s]
                assert [s.split("bob: ")[1] for s in shown] == [f"line {n}" for n in range(70)]
                await bob.close()

    asyncio.run(scenario())


def test_tab_completes_names_rooms_and_commands():
    async def scenario():
        async with running_server() as server:
            bob = await guest(server.port, "bobby")
            app = app_for(server.port)
            async with app.run_test(size=(100, 30)) as pilot:
                await connected(pilot)
                entry = app.query_one(ChatInput)
                await pilot.press("b", "o", "tab")
                assert entry.value == "bobby: "
                entry.value = ""
                await pilot.press("/", "j", "o", "tab")
                assert entry.value == "/join "
                await pilot.press("#", "g", "e", "tab")
                assert entry.value == "/join #general "
                entry.value = ""
                await pilot.press("up")  # nothing typed before: the history is empty
                assert entry.value == ""
                await type_line(pilot, "/ping")
                await pilot.press("up")
                assert entry.value == "/ping"
                await bob.close()

    asyncio.run(scenario())


HOSTILE = "\x1b[2J\x07[bold red]pwned[/] \x1b]52;c;ZXZpbA==\x07 **fine**"


def test_hostile_text_is_shown_inert_and_rich_markup_is_not_read():
    async def scenario():
        async with running_server() as server:
            app = app_for(server.port)
            async with app.run_test(size=(160, 40)) as pilot:
                await connected(pilot)
                bob = await guest(server.port, "bob")
                await bob.chat(HOSTILE)
                await bob.set_topic("general", "\x1b]0;owned\x07[link=x]topic[/link]")
                await until(pilot, lambda: any("pwned" in s for s in lines(app)), "the message")
                line = next(s for s in lines(app) if "pwned" in s)
                assert "\\x1b[2J\\x07[bold red]pwned[/] \\x1b]52;c;ZXZpbA==\\x07 fine" in line
                assert not any(ord(c) < 32 and c != "\n" for c in "".join(lines(app)))
                topic = app.query_one("#topic", Static)
                await until(pilot, lambda: "owned" in str(topic.content), "the topic")
                assert "\\x1b]0;owned\\x07[link=x]topic[/link]" in str(topic.content)
                await bob.close()

    asyncio.run(scenario())


def test_a_multi_line_paste_goes_out_as_one_message():
    async def scenario():
        async with running_server() as server:
            app = app_for(server.port)
            async with app.run_test(size=(100, 30)) as pilot:
                await connected(pilot)
                bob = await guest(server.port, "bob")
                app.query_one(ChatInput).post_message(events.Paste("one\rtwo\r\nthree\n"))
                said = await expect(bob, ev.ChatMessage)
                assert (said.username, said.message) == ("alice", "one\ntwo\nthree")
                await bob.close()

    asyncio.run(scenario())
