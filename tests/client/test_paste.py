"""client/paste.py alone: batches of pasted lines, pieces that fit, and the pacer's waits."""

from __future__ import annotations

import asyncio

from chinwag.client.paste import PASTE_WINDOW, Pacer, PasteInput, chunks, paste_window
from tests.client.support import ScriptedTerminal


def test_lines_that_arrive_together_are_one_message_and_a_command_ends_the_batch():
    async def scenario():
        terminal = ScriptedTerminal()
        lines = PasteInput(terminal, window=10.0)  # everything below is already there
        terminal.type("ok", "robert: hi", "", "/users", "//not a command", "x", "", None)
        assert await lines.read() == "ok\nrobert: hi"  # the blank line at its end dropped
        assert await lines.read() == "/users"
        assert await lines.read() == "//not a command\nx"
        assert await lines.read() is None
        lines.close()

    asyncio.run(scenario())


def test_a_line_typed_alone_is_handed_out_and_the_read_after_it_goes_on():
    async def scenario():
        terminal = ScriptedTerminal()
        lines = PasteInput(terminal, window=0.0)  # nothing else has arrived: no wait
        terminal.type("hello")
        assert await lines.read() == "hello"
        later = asyncio.ensure_future(lines.read())
        terminal.type("/quit")
        assert await later == "/quit"  # the read that went on was not lost
        lines.close()

    asyncio.run(scenario())


def test_a_long_paste_is_cut_at_line_ends_into_pieces_that_fit():
    text = "\n".join(f"{i:04d}" + "x" * 95 for i in range(300))  # 300 lines of 99 bytes
    pieces = chunks(text, limit=10_000)
    assert "\n".join(pieces) == text
    assert all(len(p.encode()) <= 10_000 for p in pieces) and len(pieces) == 3
    assert chunks("one very long line", limit=4) == ["one very long line"]


def test_the_pacer_waits_only_past_its_burst_for_as_long_as_a_token_takes():
    async def scenario():
        now = [0.0]
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        pacer = Pacer(rate=4.0, burst=3.0, clock=lambda: now[0], sleep=sleep)
        for _ in range(5):
            await pacer.wait()
        assert slept == [0.25, 0.25]
        now[0] += 10.0  # a quiet while refills the bucket, up to the burst
        for _ in range(3):
            await pacer.wait()
        assert slept == [0.25, 0.25]

    asyncio.run(scenario())


def test_the_paste_window_can_be_widened_for_slow_links_and_bad_values_are_ignored():
    assert paste_window({}) == PASTE_WINDOW
    assert paste_window({"CHINWAG_PASTE_WINDOW": "0.3"}) == 0.3
    assert paste_window({"CHINWAG_PASTE_WINDOW": "soon"}) == PASTE_WINDOW
    assert paste_window({"CHINWAG_PASTE_WINDOW": "nan"}) == PASTE_WINDOW
    assert paste_window({"CHINWAG_PASTE_WINDOW": "1e9"}) == 5.0
    assert paste_window({"CHINWAG_PASTE_WINDOW": "-1"}) == 0.0
