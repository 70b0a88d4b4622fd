"""`make screenshot`: the page as the README shows it (docs/screenshot.png).

A real server and two people in Chromium, as in the browser tests; run by hand when the
page changes, and commit the picture.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM_ARGS, ChatProcess, chromium_path
from tests.browser.support import NetcatClient, join_as_guest, message, png, register, say

LINES = [
    ("carol", "Morning all! Release notes are in #dev :tada:"),
    ("bob", "Thanks carol. Is the **web client** ready for testing?"),
    ("alice", "It is: open `http://localhost:8080/` and sign in."),
    ("carol", "Works from my phone too. See https://example.com/chinwag for the docs."),
    ("bob", "alice, can you check the reconnect after a restart?"),
]


def main(target: str) -> None:
    path = chromium_path()
    if path is None:
        sys.exit("no Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as data, sync_playwright() as playwright:
        server = ChatProcess(Path(data))
        server.start()
        try:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            shot = browser.new_context(
                viewport={"width": 1100, "height": 760}, color_scheme="light"
            )
            alice = shot.new_page()
            alice.goto(server.url)
            register(alice, "alice")
            bob = browser.new_context().new_page()
            bob.goto(server.url)
            join_as_guest(bob, "bob")
            carol = NetcatClient(server.port, "carol")
            say(alice, "/topic Planning the 1.0 release: web client, files, search")
            expect(alice.locator("#topic")).to_contain_text("Planning")
            for who, text in LINES:
                if who == "alice":
                    say(alice, text)
                elif who == "bob":
                    say(bob, text)
                else:
                    carol.send(text)
                expect(message(alice, text.split("**")[0].split("`")[0][:20])).to_be_visible()
            chart = Path(data) / "burndown.png"
            chart.write_bytes(png(180, 90, b"\x3b\x6f\xd8"))
            alice.locator("#file-input").set_input_files([str(chart)])
            expect(alice.locator(".file img")).to_have_attribute("src", re.compile("^blob:"))
            alice.wait_for_timeout(300)
            alice.locator("#messages").click()
            alice.screenshot(path=target)
            carol.close()
            browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png")
