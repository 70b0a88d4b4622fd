"""How the line client renders events (pure functions, no terminal)."""

import time

from chinwag.client.format import View, clock, event_lines
from chinwag.client.status import Closed, Disconnected, Reconnecting
from chinwag.protocol import events as ev

T = 1700000000.0
HHMMSS = time.strftime("%H:%M:%S", time.localtime(T))
VIEW = View(me="alice", room="general")


def test_clock_is_local_time():
    assert clock(T) == HHMMSS


def test_chat_in_the_current_room_has_no_tag_and_others_do():
    assert event_lines(ev.ChatMessage(1, "general", "bob", "hi", T), VIEW) == [
        f"[{HHMMSS}] bob: hi"
    ]
    assert event_lines(ev.ChatMessage(2, "dev", "bob", "hi", T), VIEW) == [
        f"[{HHMMSS}] #dev bob: hi"
    ]


def test_private_messages_say_who_to_whom():
    incoming = ev.PrivateMessage(3, "bob", "alice", "psst", T)
    outgoing = ev.PrivateMessage(4, "alice", "bob", "ok", T)
    assert event_lines(incoming, VIEW) == [f"[{HHMMSS}] [private] bob -> you: psst"]
    assert event_lines(outgoing, VIEW) == [f"[{HHMMSS}] [private] you -> bob: ok"]


def test_history_is_marked_and_pages_are_framed():
    replayed = ev.ChatMessage(5, "general", "bob", "old", T, history=True)
    assert event_lines(replayed, VIEW) == [f"(history) [{HHMMSS}] bob: old"]
    page = event_lines(ev.HistoryPage("general", (replayed,)), VIEW)
    assert page == [
        "--- History of #general (1 messages) ---",
        f"[{HHMMSS}] bob: old",
        "--- end ---",
    ]
    assert event_lines(ev.SearchResults("general", "x", ()), VIEW) == [
        "Search in #general for 'x': nothing found"
    ]


def test_presence_and_status_lines():
    assert event_lines(ev.UserJoined("general", "bob", T), VIEW) == ["--> bob joined the chat"]
    assert event_lines(ev.UserLeft("dev", "bob", T, "left the room"), VIEW) == ["<-- bob left #dev"]
    assert event_lines(Disconnected("gone", reconnecting=True), VIEW) == ["! Connection lost: gone"]
    assert event_lines(Reconnecting(2, 10, 1.25, "gone"), VIEW) == [
        "* Reconnecting in 1.2 s (attempt 2/10)..."
    ]
    assert event_lines(Closed("bye", by_user=True), VIEW) == []
    assert event_lines(ev.KeepAlive(T), VIEW) == []
