"""The chat page in a real Chromium, against a real server process."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ChatProcess
from tests.browser.support import NetcatClient, join_as_guest, message, say


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
