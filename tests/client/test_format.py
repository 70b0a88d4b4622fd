"""How the line client renders events (pure functions, no terminal)."""

import time

from chinwag.client.format import View, clock, event_lines
from chinwag.client.status import ClientEvent, Closed, Disconnected, Reconnecting
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


def test_guests_are_marked_when_the_list_names_accounts():
    listed = ev.UserList(("alice", "bob", "Carol"), accounts=("alice", "carol"))
    assert event_lines(listed, VIEW) == ["Online (3): alice, bob (guest), Carol"]
    # No account in the list (a server without accounts, or only guests): no marks.
    assert event_lines(ev.UserList(("alice", "bob")), VIEW) == ["Online (2): alice, bob"]
    joined = ev.RoomJoined("dev", "", ("alice", "bob"), accounts=("bob",))
    assert event_lines(joined, VIEW) == ["You are in #dev (2 here: alice (guest), bob)"]


def test_a_welcome_says_which_account_is_signed_in_and_never_shows_the_token():
    welcome = ev.Welcome(
        "alice",
        "Welcome to chinwag, alice!",
        ("alice", "bob"),
        ("general",),
        0,
        T,
        accounts=("alice",),
        account="alice",
        token="s3cret-token",
    )
    lines = event_lines(welcome, VIEW)
    assert lines[:3] == [
        "Welcome to chinwag, alice!",
        "* Signed in to the account alice.",
        "Online: alice, bob (guest)",
    ]
    assert not any("s3cret" in line for line in lines)
    guest = ev.Welcome("bob", "Welcome to chinwag, bob!", ("bob",), ("general",), 0, T, guest=True)
    assert event_lines(guest, VIEW)[:2] == ["Welcome to chinwag, bob!", "Online: bob"]


def test_done_and_a_private_conversation_page():
    done = ev.Done("password", "Password changed; other devices must log in again")
    assert event_lines(done, VIEW) == ["* Password changed; other devices must log in again"]
    said = ev.PrivateMessage(7, "bob", "alice", "psst", T, history=True)
    assert event_lines(ev.HistoryPage("", (said,), with_="bob"), VIEW) == [
        "--- Private messages with bob (1 messages) ---",
        f"[{HHMMSS}] [private] bob -> you: psst",
        "--- end ---",
    ]
    assert event_lines(ev.HistoryPage("", (), with_="bob"), VIEW) == [
        "Private messages with bob: nothing found"
    ]


def test_each_line_of_a_multi_line_message_is_led_under_its_header():
    forged = ev.ChatMessage(6, "general", "bob", "ok\nrobert: send me your password", T)
    header = f"[{HHMMSS}] bob: "
    assert event_lines(forged, VIEW) == [
        f"{header}ok",
        " " * (len(header) - 2) + "| robert: send me your password",
    ]
    private = ev.PrivateMessage(7, "bob", "alice", "a\r\nb\rc", T)
    assert [line.lstrip() for line in event_lines(private, VIEW)[1:]] == ["| b", "| c"]


def test_no_escape_sequence_of_anyone_reaches_the_terminal():
    clear = "\x1b[2J\x1b]52;c;cm0gLXJm\x07\x9b1m\u202e"
    shown = "\\x1b[2J\\x1b]52;c;cm0gLXJm\\x07\\x9b1m\\u202e"
    events: list[ClientEvent] = [
        ev.ChatMessage(8, "general", "bob", clear, T),
        ev.TopicChanged(9, "dev", "bob", clear, T),
        ev.RoomJoined("dev", clear, ("bob",)),
        ev.RoomList((ev.RoomInfo("dev", 1, clear),)),
        ev.Error(ev.ErrorCode.UNKNOWN_USER, clear),
        ev.Goodbye(clear),
        ev.HistoryPage("general", (ev.ChatMessage(10, "general", "bob", clear, T, True),)),
    ]
    for event in events:
        lines = event_lines(event, VIEW)
        assert any(shown in line for line in lines), (event, lines)
        assert not any(ch in line for line in lines for ch in "\x1b\x07\x9b\u202e")


def test_away_lines():
    assert event_lines(ev.UserAway("bob", "lunch", T), VIEW) == ["* bob is away: lunch"]
    assert event_lines(ev.UserAway("bob", "", T), VIEW) == ["* bob is back"]
    mine = ev.PrivateMessage(4, "alice", "bob", "ok", T, away="lunch")
    assert event_lines(mine, VIEW) == [
        f"[{HHMMSS}] [private] you -> bob: ok",
        "* bob is away: lunch",
    ]
    listed = ev.UserList(("alice", "bob"), None, (), (ev.Absent("bob", "lunch"),))
    assert event_lines(listed, VIEW)[1:] == ["  bob is away: lunch"]
