"""One conversation's message pane on its own (a widget test: no server needed)."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from chinwag.client.state import Sending
from chinwag.protocol import events as ev
from chinwag.tui.log import Line, MessageLog
from tests.tui.support import FIXED

DAY = 86_400.0


class OneLog(App[None]):
    def compose(self) -> ComposeResult:
        yield MessageLog("#general", FIXED_BY_DAY, ["alice"], id="log")


# The day changes with the timestamp (times stay fixed): separators can be seen.
FIXED_BY_DAY = type(FIXED)(FIXED.time, lambda ts: f"day {int(ts // DAY)}")


def texts(log: MessageLog) -> list[str]:
    return [str(line.content) for line in log.query_children(Line)]


def chat(n: int, who: str, text: str, when: float) -> ev.ChatMessage:
    return ev.ChatMessage(n, "general", who, text, when)


def test_own_messages_are_sending_until_the_echo_and_days_are_separated():
    async def scenario():
        app = OneLog()
        async with app.run_test() as pilot:
            log = app.query_one(MessageLog)
            log.add(chat(1, "bob", "hi", DAY * 1))
            log.add_pending(Sending("#general", "hello"), DAY * 2)
            await pilot.pause()
            assert texts(log)[-1] == "12:34 alice: hello  (sending)"
            log.add(chat(2, "alice", "hello", DAY * 2))
            log.add(chat(2, "alice", "hello", DAY * 2))  # the same id again: shown once
            await pilot.pause()
            assert texts(log) == [
                "── day 1 ──",
                "12:34 bob: hi",
                "── day 2 ──",
                "12:34 alice: hello",
            ]
            log.leave()
            log.add(chat(3, "bob", "while away", DAY * 2))
            log.prepend((chat(0, "bob", "older", DAY * 0), chat(-1, "x", "y", DAY)))
            await pilot.pause()
            assert texts(log) == [
                "── day 0 ──", "12:34 bob: older", "── day 1 ──", "12:34 x: y", "12:34 bob: hi",
                "── day 2 ──", "12:34 alice: hello", "── new messages ──", "12:34 bob: while away",
            ]  # fmt: skip

    asyncio.run(scenario())
