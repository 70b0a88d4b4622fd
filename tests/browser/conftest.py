"""Browser tests: Debian's Chromium driven by Playwright, against a real `chinwag serve`.

Playwright is pointed at the system browser (`/usr/bin/chromium`, or $CHROMIUM); it never
downloads one. Without Chromium or Playwright the tests skip with the reason, and under
CI=true they fail (tests.helpers.needs_service). `make test` installs Chromium where apt
can (`.ci/install-chromium`).

Every page records what must never happen: a Content-Security-Policy violation, a dialog
(alert, confirm, prompt), an uncaught script error. A test fails if any occurred.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import free_port, needs_service

CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """$CHROMIUM when set (and only it), else Debian's chromium."""
    named = os.environ.get("CHROMIUM")
    for candidate in (named,) if named else ("/usr/bin/chromium", "chromium"):
        if found := shutil.which(candidate):
            return found
    return None


# One Chromium per module, closed when the module is done: Playwright's synchronous API
# holds an event loop in this thread while it runs, and the rest of the suite calls
# asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        needs_service(False, "Playwright is not installed (pip install -e '.[dev]')")
        raise
    path = chromium_path()
    needs_service(path is not None, "no Chromium (apt-get install chromium, or set $CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ChatProcess:
    """`chinwag serve` on free ports of 127.0.0.1; stop() and start() again keep its data."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.data = data
        self.port = free_port()
        self.http_port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data / "server.log"
        self.started_once = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def start(self) -> None:
        """Start on the same ports as before (a restart); on a first start whose ports were
        taken meanwhile (free_port races with other test runs), try fresh ones."""
        for attempt in range(3):
            if self._start():
                return
            if self.proc is not None and attempt < 2 and not self.started_once:
                self.port, self.http_port = free_port(), free_port()
                continue
            raise AssertionError(f"the server did not start:\n{self.log.read_text()[-2000:]}")

    def _start(self) -> bool:
        command = [
            sys.executable, "-m", "chinwag", "serve", "--port", str(self.port),
            "--http-port", str(self.http_port), "--data", str(self.data), *self.extra,
        ]  # fmt: skip
        env = {**os.environ, "CHINWAG_PASSWORD_PROFILE": "cheapest"}  # fast hashes
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
                self.started_once = True
                return True
            except OSError:
                time.sleep(0.05)
        self.proc.kill()  # not listening in time: not a server to test
        self.proc.wait()
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:  # a slow shutdown must not fail the test
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def chat_server(tmp_path: Path) -> Iterator[ChatProcess]:
    server = ChatProcess(tmp_path)
    server.start()
    yield server
    server.stop()


class PageWatch:
    """What a page must never do, recorded as it happens."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page: Any) -> None:
        def dialog(d: Any) -> None:
            self.problems.append(f"dialog: {d.message}")
            d.dismiss()

        page.on("dialog", dialog)
        page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))

        def console(message: Any) -> None:
            text = message.text
            if "Content Security Policy" in text or "Refused to" in text:
                self.problems.append(f"CSP: {text}")

        page.on("console", console)
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e =>"
            " console.error('Refused to: CSP violation ' + e.violatedDirective));"
        )


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """open_page(url, **context options) -> a page; all are checked and closed at the end."""
    contexts: list[Any] = []
    watch = PageWatch()

    def opener(url: str, **options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch.attach(page)
        page.goto(url)
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not watch.problems, watch.problems
