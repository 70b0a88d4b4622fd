"""Driving the chat page as a person would: by its labels and buttons."""

from __future__ import annotations

import socket
import struct
import zlib
from typing import Any

from playwright.sync_api import expect


def join_as_guest(page: Any, name: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Join as guest").click()
    expect(page.locator("#me")).to_have_text(f"{name} (guest)")
    expect(page.locator("#status")).to_have_text("online")


def register(page: Any, name: str, password: str = "correct horse battery") -> None:
    page.get_by_label("Name").fill(name)
    page.locator("#login-password").fill(password)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#me")).to_have_text(name)
    expect(page.locator("#status")).to_have_text("online")


def say(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    box.press("Enter")


def message(page: Any, text: str) -> Any:
    """The confirmed (echoed, stored) message with this exact text."""
    return page.locator(".msg[data-id] .body", has_text=text)


class NetcatClient:
    """A person at `nc 127.0.0.1 PORT`: plain lines both ways."""

    def __init__(self, port: int, name: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        self.send(f"/nick {name}")
        self.wait_for(f"You are now known as {name}")

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\n")

    def wait_for(self, text: str) -> str:
        """The first line (from now) that contains `text`."""
        while True:
            while b"\n" not in self.buffer:
                data = self.sock.recv(65536)
                assert data, f"closed while waiting for {text!r}"
                self.buffer += data
            line, _, self.buffer = self.buffer.partition(b"\n")
            decoded = line.decode(errors="replace").rstrip("\r")
            if text in decoded:
                return decoded

    def close(self) -> None:
        self.sock.close()


def png(width: int = 4, height: int = 3, rgb: bytes = b"\xff\x00\x00") -> bytes:
    """A real PNG of one colour, so that the browser can decode a preview."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack("!I", len(data)) + body + struct.pack("!I", zlib.crc32(body))

    rows = b"".join(b"\x00" + rgb * width for _ in range(height))
    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip
