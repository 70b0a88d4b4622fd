"""Nobody's text controls a reader's terminal, and nobody's line passes for another's.

What the text dialects (plain, pipe, typed, basic) write is shown on terminals: by netcat
as it is, by the seed clients after decoding their JSON. Whatever a message, a topic or a
name holds, the shown text has no control character (but the line breaks the dialect
itself makes, and tab), and each line of a multi-line message is visibly the sender's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chinwag.protocol import events as ev
from chinwag.protocol import text as text_rules
from chinwag.protocol.basic import BasicCodec
from chinwag.protocol.codec import Codec
from chinwag.protocol.pipe import PipeCodec
from chinwag.protocol.plain import PlainCodec
from chinwag.protocol.text import CONTINUATION, continued, inert, message_lines
from chinwag.protocol.typed import TypedCodec

T = 1_700_000_000.25
TEXT_DIALECTS: dict[str, Callable[[], Codec]] = {
    "plain": PlainCodec,
    "pipe": PipeCodec,
    "typed": TypedCodec,
    "basic": BasicCodec,
}
# What a terminal acts on instead of showing (tab and the line feed aside).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
HOSTILE = (
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b]52;c;cm0gLXJmIH4=\x07",  # OSC 52: write the clipboard
    "\x07\x07",  # the bell
    "\x9b2J",  # CSI as one C1 character
    "safe\rrobert: hi",  # a bare CR returns to the start of the line
    "\u202eevil",  # a right-to-left override
)


def shown_lines(dialect: str, data: bytes) -> list[str]:
    """The lines a reader of this dialect sees on the terminal."""
    text = data.decode()
    if dialect in ("plain", "pipe"):
        return text.replace("\r\n", "\n").splitlines()
    lines: list[str] = []
    for line in text.splitlines():
        for value in orjson.loads(line).values():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, str):
                    lines += item.split("\n")
    return lines


def notices(text: str) -> list[ev.Notice]:
    """Every place another user's text reaches a reader: live, private, history, topics."""
    chat = ev.ChatMessage(1, "general", "bob", text, T)
    return [
        chat,
        ev.ChatMessage(2, "dev", "bob", text, T, True),
        ev.PrivateMessage(3, "bob", "alice", text, T),
        ev.TopicChanged(4, "dev", "bob", text, T),
        ev.HistoryPage("general", (chat, ev.PrivateMessage(5, "bob", "carol", text, T, True))),
        ev.RoomJoined("dev", text, ("alice", "bob")),
        ev.Error(ev.ErrorCode.UNKNOWN_USER, f"No user named {text}"),
    ]


@pytest.mark.parametrize("dialect", sorted(TEXT_DIALECTS))
@pytest.mark.parametrize("text", HOSTILE)
def test_escape_sequences_reach_no_terminal_raw(dialect: str, text: str):
    codec = TEXT_DIALECTS[dialect]()
    for notice in notices(text):
        for line in shown_lines(dialect, codec.render(notice, "alice")):
            assert not CONTROL.search(line), (notice, line)
            assert not line.startswith("robert"), (notice, line)  # a CR breaks the line too


@pytest.mark.parametrize("dialect", sorted(TEXT_DIALECTS))
def test_a_clear_screen_is_shown_escaped(dialect: str):
    data = TEXT_DIALECTS[dialect]().render(ev.ChatMessage(1, "general", "bob", "\x1b[2Jhi", T), "x")
    assert "\\x1b[2Jhi" in "\n".join(shown_lines(dialect, data))


@pytest.mark.parametrize("dialect", sorted(TEXT_DIALECTS))
def test_each_line_of_a_multi_line_message_is_the_senders(dialect: str):
    message = ev.ChatMessage(1, "general", "alice", "ok\nrobert: send me your password", T)
    for notice in (message, ev.HistoryPage("general", (message,))):
        lines = shown_lines(dialect, TEXT_DIALECTS[dialect]().render(notice, "carol"))
        assert not any(line.startswith("robert") for line in lines), lines
        forged = [line for line in lines if "send me your password" in line]
        assert len(forged) == 1
        assert forged[0].startswith(("alice: ", "MSG|alice|", CONTINUATION)), forged


@given(st.text(max_size=40))
def test_any_text_in_any_text_dialect_shows_no_control(text: str):
    for dialect, make in TEXT_DIALECTS.items():
        codec = make()
        for notice in notices(text):
            for line in shown_lines(dialect, codec.render(notice, "alice")):
                assert not CONTROL.search(line), (dialect, notice, line)


@given(st.text(max_size=40))
def test_inert_is_one_printable_line_and_idempotent(text: str):
    once = inert(text)
    assert not CONTROL.search(once) and "\n" not in once
    assert inert(once) == once
    assert all(not CONTROL.search(line) and "\n" not in line for line in message_lines(text))


def test_the_helpers_by_example():
    assert inert("a\x1b[2J\x07\r\n\x9b") == "a\\x1b[2J\\x07\\r\\n\\x9b"
    assert inert("Café 日本 \U0001f600\tok") == "Café 日本 \U0001f600\tok"
    assert message_lines("a\nb\r\nc\u2028d") == ["a", "b", "c", "d"]
    assert continued("ok\nrobert: hi") == f"ok\n{CONTINUATION}robert: hi"


def test_every_character_made_inert_is_one_str_isprintable_refuses():
    """The fast path (a printable text is returned as it is) skips none of them."""
    unsafe = [chr(c) for c in range(0x3000) if text_rules._UNSAFE.fullmatch(chr(c))]
    assert len(unsafe) > 60 and "\t" not in unsafe
    assert not any(c.isprintable() for c in unsafe)
