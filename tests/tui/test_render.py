"""What the TUI draws and completes, as pure functions (no app, no server)."""

from __future__ import annotations

from rich.text import Text

from chinwag.client.state import Conversation, Member
from chinwag.protocol import events as ev
from chinwag.tui import render
from chinwag.tui.ask import osc_notification, worth_notifying
from chinwag.tui.entry import complete, palette_commands
from tests.tui.support import FIXED


def spans(text: Text) -> dict[str, str]:
    """Each styled piece of `text` -> its style, as a string."""
    return {text.plain[s.start : s.end]: str(s.style) for s in text.spans}


def test_markdown_subset_becomes_styles_and_markup_stays_text() -> None:
    text = render.markdown("**b** *i* _j_ `c` [bold]x[/bold] https://x.org/a snake_case_name")
    assert text.plain == "b i j c [bold]x[/bold] https://x.org/a snake_case_name"
    styles = spans(text)
    assert styles["b"] == "bold" and styles["i"] == "italic" and styles["j"] == "italic"
    assert "on #303030" in styles["c"]
    assert "link https://x.org/a" in styles["https://x.org/a"]
    assert "[bold]x[/bold]" not in styles  # shown as typed, not read as Rich markup


def test_a_message_is_inert_its_mention_highlighted_and_its_lines_indented() -> None:
    notice = ev.ChatMessage(1, "general", "bob", "alice: \x1b[2J hi\nrobert: pwd?", 0.0)
    text = render.message(notice, "alice", FIXED)
    assert text.plain == "12:34 bob: alice: \\x1b[2J hi\n         | robert: pwd?"
    assert any("on #5c3c00" in str(s.style) for s in text.spans)  # the mention
    own = render.message(ev.ChatMessage(0, "general", "alice", "bob?", 0.0), "alice", FIXED, True)
    assert own.plain.endswith("(sending)")


def test_names_keep_their_colour_whatever_the_case() -> None:
    assert (
        render.name_colour("Alice") == render.name_colour("alice") == "#4fb0a5"
    )  # a CRC: the same on every run and machine
    assert len({render.name_colour(n) for n in ("alice", "bob", "carol", "dave")}) > 1


def test_sidebar_and_member_labels() -> None:
    dev = Conversation("#dev", "dev", unread=3, mentioned=1)
    assert render.sidebar_label(dev).plain == "#dev 3 @1"
    assert render.sidebar_label(Conversation("@bob", "bob", private=True)).plain == "@bob"
    assert render.member_label(Member("bob", guest=False, role="operator")).plain == "@bob"
    assert render.member_label(Member("Client 2", guest=True)).plain == " Client 2 (guest)"
    assert render.member_label(Member("eve", role="voice")).plain == "+eve"


def test_completion_of_names_rooms_and_commands() -> None:
    names, rooms = ["bob", "Client 2"], ["general", "dev"]
    assert complete("bo", 2, names, rooms) == [("bob: ", 5)]
    assert complete("/msg cl", 7, names, rooms) == [('/msg "Client 2" ', 16)]
    assert complete("/to", 3, names, rooms) == [("/topic ", 7)]
    assert complete("/join #d", 8, names, rooms) == [("/join #dev ", 11)]
    assert complete("hi b and", 4, names, rooms) == [("hi bob and", 7)]
    assert complete("zz", 2, names, rooms) == []


def test_desktop_notifications_only_where_known_and_never_with_raw_controls() -> None:
    title, body = "bob in #dev", "hi\x07\x1b]52;c;x\x1b\\; more"
    assert osc_notification({}, title, body) == ""
    nine = osc_notification({"TERM_PROGRAM": "WezTerm"}, title, body)
    assert nine.startswith("\x1b]9;") and nine.endswith("\x07")
    assert "\x1b" not in nine[1:-1] and "\x07" not in nine[:-1]
    vte = osc_notification({"VTE_VERSION": "7600"}, title, body)
    assert vte.startswith("\x1b]777;notify;bob in #dev;") and vte.count(";") == 3


def test_what_rings_a_private_message_or_a_mention_never_our_own() -> None:
    private = ev.PrivateMessage(1, "bob", "alice", "psst", 0.0)
    assert worth_notifying(private, "alice") == ("bob privately", "psst")
    named = ev.ChatMessage(2, "dev", "bob", "ALICE: look", 0.0)
    assert worth_notifying(named, "alice") == ("bob in #dev", "ALICE: look")
    assert worth_notifying(ev.ChatMessage(3, "dev", "bob", "hi all", 0.0), "alice") is None
    assert worth_notifying(ev.ChatMessage(4, "dev", "alice", "alice here", 0.0), "alice") is None
    assert worth_notifying(ev.TopicChanged(5, "dev", "bob", "alice", 0.0), "alice") is None


def test_the_palette_offers_every_command_of_the_help() -> None:
    names = {name for _, _, name in palette_commands()}
    assert {"/msg", "/join", "/topic", "/register", "/quit"} <= names
    usage, what, _ = next(p for p in palette_commands() if p[2] == "/msg")
    assert usage == "/msg NAME text" and what.startswith("a private message")
