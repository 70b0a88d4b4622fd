"""The chat page in a real Chromium, against a real server process."""

from __future__ import annotations

from typing import Any

from tests.helpers import needs_module

needs_module("playwright.sync_api", "Playwright is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import ChatProcess  # noqa: E402
from tests.browser.support import NetcatClient, join_as_guest, message, say  # noqa: E402


def test_two_browsers_and_netcat_chat_in_one_room(chat_server: ChatProcess, open_page: Any):
    alice = open_page(chat_server.url)
    bob = open_page(chat_server.url)
    join_as_guest(alice, "alice")
    join_as_guest(bob, "bob")
    carol = NetcatClient(chat_server.port, "carol")
    say(alice, "hello from **alice**")
    expect(message(bob, "hello from alice").locator("strong")).to_have_text("alice")
    expect(message(alice, "hello from alice")).to_be_visible()
    assert "alice: hello from **alice**" in carol.wait_for("hello from")
    carol.send("hi both, from netcat")
    expect(message(alice, "hi both, from netcat")).to_be_visible()
    expect(message(bob, "hi both, from netcat")).to_be_visible()
    say(bob, "hey carol")
    carol.wait_for("bob: hey carol")
    # Members: all three, the guests marked.
    expect(alice.locator("#member-list li")).to_have_count(3)
    expect(alice.locator("#member-list li", has_text="carol")).to_contain_text("(guest)")
    carol.close()


def test_history_pages_load_by_scrolling_up(tmp_path, open_page: Any):
    server = ChatProcess(tmp_path, "--message-rate", "0", "--command-rate", "0")
    server.start()
    try:
        carol = NetcatClient(server.port, "carol")
        for i in range(1, 161):
            carol.send(f"message number {i}")
        page = open_page(server.url)
        join_as_guest(page, "alice")
        expect(message(page, "message number 160")).to_be_visible()
        messages = page.locator("#messages")
        for _ in range(20):  # scroll to the top until the first message has come
            if page.locator(".msg[data-id]").count() >= 160:
                break
            messages.evaluate("m => { m.scrollTop = 0; m.dispatchEvent(new Event('scroll')); }")
            page.wait_for_timeout(300)
        texts = page.locator(".msg[data-id] .body").all_inner_texts()
        assert texts == [f"message number {i}" for i in range(1, 161)]  # in order, each once
        assert page.locator(".day").count() == 1  # one day separator: all were said today
        carol.close()
    finally:
        server.stop()


def test_a_private_conversation(chat_server: ChatProcess, open_page: Any):
    from tests.browser.support import register

    alice = open_page(chat_server.url)
    bob = open_page(chat_server.url)
    eve = open_page(chat_server.url)
    register(alice, "alice")
    register(bob, "bob")
    join_as_guest(eve, "eve")
    alice.locator("#member-list").get_by_role("button", name="bob").click()
    expect(alice.locator("#title")).to_have_text("@bob")
    say(alice, "just between us")
    expect(message(alice, "just between us")).to_be_visible()
    badge = bob.locator("#privates button", has_text="@alice").locator(".unread")
    expect(badge).to_have_text("1")
    bob.locator("#privates").get_by_role("button", name="@alice").click()
    expect(message(bob, "just between us")).to_be_visible()
    expect(badge).to_have_count(0)
    say(bob, "agreed")
    expect(message(alice, "agreed")).to_be_visible()
    # Nobody else saw it: eve's page has no private conversation and no such message.
    expect(eve.locator("#privates li")).to_have_count(0)
    assert eve.locator(".msg .body", has_text="between us").count() == 0


def test_reconnects_after_a_server_restart_and_shows_what_was_missed_once(
    chat_server: ChatProcess, open_page: Any
):
    from tests.browser.support import register

    page = open_page(chat_server.url)
    register(page, "alice")
    say(page, "before the restart")
    expect(message(page, "before the restart")).to_be_visible()
    chat_server.stop()
    expect(page.locator("#status")).to_contain_text("reconnecting")
    chat_server.start()
    carol = NetcatClient(chat_server.port, "carol")
    carol.send("said while alice was away")
    expect(page.locator("#status")).to_have_text("online", timeout=20_000)
    expect(message(page, "said while alice was away")).to_have_count(1)
    expect(message(page, "before the restart")).to_have_count(1)
    carol.send("and after")
    expect(message(page, "and after")).to_have_count(1)
    # A reload stays signed in: the login token was kept.
    page.reload()
    expect(page.locator("#me")).to_have_text("alice")
    expect(page.locator("#status")).to_have_text("online")
    expect(page.locator("#login")).to_be_hidden()
    carol.close()


RTL = "\u202eevil\u202c.txt and \u2067isolate\u2069 \u200fRLM"
IFRAME = "<iframe src=javascript:alert(8)></iframe>"
DATA_LINK = "[a](data:text/html,<script>alert(9)</script>)"
# (what a person types, what the page must show as text)
HOSTILE = [
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
    ("<script>alert(2)</script>", "<script>alert(2)</script>"),
    ("[click me](javascript:alert(3))", "[click me](javascript:alert(3))"),
    ("javascript:alert(4)", "javascript:alert(4)"),
    ("**<b onmouseover=alert(5)>bold</b>**", "<b onmouseover=alert(5)>bold</b>"),
    ('[x](https://example.com/"onmouseover="alert(6))', "x)"),
    ("`<svg onload=alert(7)>`", "<svg onload=alert(7)>"),
    (f"``` {IFRAME} ```", IFRAME),
    (RTL, RTL),
    (DATA_LINK, DATA_LINK),
]


def test_hostile_text_is_shown_as_text_and_runs_nothing(chat_server: ChatProcess, open_page: Any):
    page = open_page(chat_server.url)
    join_as_guest(page, "alice")
    mallory = NetcatClient(chat_server.port, "mallory")
    for text, _ in HOSTILE:
        mallory.send(text)
    long_line = ("0123456789abcdef" * 4090)[:65_000]
    mallory.send(long_line)
    mallory.send("hey alice, look at https://example.com/ok?a=1&b=2.")
    expect(page.locator(".msg .body", has_text="hey alice")).to_be_visible()
    bodies = page.locator(".msg[data-id] .body")
    texts = bodies.all_text_contents()
    for _, shown in HOSTILE:
        assert any(shown in text for text in texts), shown
    assert long_line in texts
    messages = page.locator("#messages")
    for tag in ("img", "script", "iframe", "svg", "b", "object", "embed"):
        assert messages.locator(tag).count() == 0, tag
    hrefs = messages.locator("a").evaluate_all("as => as.map(a => [a.href, a.rel])")
    assert hrefs, "the https link was made"
    for href, rel in hrefs:
        assert href.startswith(("https://", "http://")), href
        assert rel == "noopener noreferrer"
    assert ["https://example.com/ok?a=1&b=2", "noopener noreferrer"] in hrefs
    # The attribute trick stayed inside the URL (quotes percent-encoded), not an attribute.
    assert messages.locator("[onmouseover], [onerror], [onload]").count() == 0
    # A mention of the reader is highlighted.
    expect(page.locator(".msg.mention .at-me")).to_have_text("alice")
    # Right-to-left overrides stay inside their message.
    expect(page.locator(".msg[data-id] .name").first).to_have_text("mallory")
    mallory.close()


def test_keyboard_and_a_phone_sized_screen(chat_server: ChatProcess, open_page: Any):
    page = open_page(chat_server.url, viewport={"width": 375, "height": 700})
    join_as_guest(page, "alice")
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    box.press("Enter")
    expect(message(page, "first line")).to_have_text("first line\nsecond line")
    expect(box).to_have_value("")
    box.press("ArrowUp")
    expect(box).to_have_value("first line\nsecond line")
    box.fill("")
    # Nothing is wider than the phone; the rooms slide in from the menu button.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    expect(page.locator("#sidebar")).to_be_hidden()
    page.get_by_role("button", name="Rooms").click()
    expect(page.locator("#sidebar")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#sidebar")).to_be_hidden()
    # Joining a room from the sidebar.
    page.get_by_role("button", name="Rooms").click()
    page.get_by_label("Join or create a room").fill("dev")
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.locator("#title")).to_have_text("#dev")


def test_search_highlights_results_and_jumps_to_the_message(
    chat_server: ChatProcess, open_page: Any
):
    page = open_page(chat_server.url)
    join_as_guest(page, "alice")
    say(page, "the release is on Friday")
    for i in range(15):  # under the message burst; tall enough to scroll the first away
        say(page, f"filler {i}\n.\n.\n.\n.")
    expect(message(page, "filler 14")).to_be_visible()
    expect(message(page, "the release is on Friday")).not_to_be_in_viewport()
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Search for").fill("release")
    page.get_by_label("Search for").press("Enter")
    result = page.locator("#search-results button", has_text="Friday")
    expect(result.locator("mark")).to_have_text("release")
    result.click()
    expect(page.locator("#search-dialog")).to_be_hidden()
    target = page.locator(".msg[data-id]", has_text="the release is on Friday")
    expect(target).to_be_in_viewport()
    # Esc closes the dialog too.
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#search-dialog")).to_be_hidden()


def test_a_deleted_message_becomes_a_tombstone(chat_server: ChatProcess, open_page: Any):
    import json
    import socket

    page = open_page(chat_server.url)
    join_as_guest(page, "alice")
    dave = socket.create_connection(("127.0.0.1", chat_server.port), timeout=10)
    lines = dave.makefile("rb")

    def send(obj: dict[str, Any]) -> None:
        dave.sendall(json.dumps(obj).encode() + b"\n")

    def until(kind: str) -> dict[str, Any]:
        while True:
            obj = json.loads(lines.readline())
            if obj["type"] == kind:
                return dict(obj)

    send({"type": "register", "username": "dave", "password": "correct horse battery"})
    until("welcome")
    send({"type": "chat", "message": "something regrettable"})
    said = until("chat")
    expect(message(page, "something regrettable")).to_be_visible()
    send({"type": "delete_message", "id": said["id"]})
    until("deleted")
    tombstone = page.locator(f'.msg[data-id="{said["id"]}"]')
    expect(tombstone.locator(".body")).to_have_text("(message deleted)")
    assert page.locator(".msg .body", has_text="regrettable").count() == 0
    page.reload()  # from history: still a tombstone
    expect(page.locator(f'.msg[data-id="{said["id"]}"] .body')).to_have_text("(message deleted)")
    dave.close()
