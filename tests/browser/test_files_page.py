"""Sharing files from the page: upload with the button, an image shown inline to another
member, a download with the file's own name and bytes; guests cannot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.helpers import needs_module

needs_module("playwright.sync_api", "Playwright is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.conftest import ChatProcess  # noqa: E402
from tests.browser.support import join_as_guest, png, register  # noqa: E402


def test_upload_preview_and_download(chat_server: ChatProcess, open_page: Any, tmp_path: Path):
    alice = open_page(chat_server.url, accept_downloads=True)
    bob = open_page(chat_server.url, accept_downloads=True)
    guest = open_page(chat_server.url)
    register(alice, "alice")
    register(bob, "bob")
    join_as_guest(guest, "eve")
    expect(guest.get_by_role("button", name="File")).to_be_hidden()
    picture = tmp_path / "red dot.png"
    picture.write_bytes(png())
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"<script>alert('not run')</script>\n")
    alice.locator("#file-input").set_input_files([str(picture)])
    preview = bob.locator(".msg[data-id] .file img")
    expect(preview).to_have_attribute("alt", "red dot.png")
    expect(preview).to_have_attribute("src", re.compile("^blob:"))
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 4
    alice.locator("#file-input").set_input_files([str(notes)])
    button = bob.get_by_role("button", name="Download notes.txt")
    with bob.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "notes.txt"
    assert Path(download.path()).read_bytes() == notes.read_bytes()
    # The guest sees that a file was shared, and that it needs an account.
    expect(guest.locator(".msg .file", has_text="notes.txt")).to_contain_text("Sign in")
    expect(alice.locator("#upload-progress")).to_be_hidden()
