"""Files from the line client: `/upload PATH` and `/download ID [PATH]` (client layer).

Plain HTTP/1.1 over asyncio streams to the server's web port (docs/protocol.md, "Files"),
with the login token as a bearer token. The body is streamed in both directions (64 KiB at
a time, never the whole file in memory) and a progress callback is told as it goes. HTTPS
verifies the server against the system's authorities and `ca` (a pinned self-signed chat
certificate is not enough: the web port is another service).
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import orjson

from chinwag.errors import ClientError

CHUNK = 64 * 1024
TIMEOUT = 30.0  # seconds without progress before a transfer gives up
MAX_HEAD = 16 * 1024

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class TransferError(ClientError):
    """The server refused the transfer, or it broke."""


async def _open(url: str, ca: str | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransferError(f"not an http(s) URL: {url}")
    context = None
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca)
    port = parts.port or (443 if context else 80)
    return await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, ssl=context), TIMEOUT
    )


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    if len(head) > MAX_HEAD:
        raise TransferError("the server's answer is too large")
    line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise TransferError(f"not an HTTP answer: {line[:80]!r}")
    headers = {}
    for raw in lines:
        name, _, value = raw.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(parts[1])
    if status == 100:  # Expect: 100-continue answered; the real answer follows
        return await _response(reader)
    return status, headers


async def _body(reader: asyncio.StreamReader, headers: dict[str, str], limit: int) -> bytes:
    size = min(int(headers.get("content-length", "0") or 0), limit)
    return await asyncio.wait_for(reader.readexactly(size), TIMEOUT)


async def upload(
    base: str, token: str, room: str, path: Path, progress: Progress, ca: str | None = None
) -> dict[str, object]:
    """Share the file at `path` in `room`; the server's description of it."""
    total = path.stat().st_size
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    target = f"/api/files?room={quote(room)}&name={quote(path.name)}"
    host = urlsplit(base).netloc
    reader, writer = await _open(base, ca)
    try:
        writer.write(
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: {kind}\r\nContent-Length: {total}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        sent = 0
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), TIMEOUT)
                sent += len(chunk)
                progress(sent, total)
        status, headers = await _response(reader)
        body = await _body(reader, headers, 1 << 20)
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        # The server may refuse (413, 403) before taking the body, then close: its answer
        # is still there to read.
        message = f"the upload broke: {exc}"
        with contextlib.suppress(Exception):
            _, headers = await _response(reader)
            message = (await _body(reader, headers, 4096)).decode(errors="replace").strip()
        raise TransferError(message) from exc
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if status != 201:
        raise TransferError(body.decode(errors="replace").strip() or f"HTTP {status}")
    answer = orjson.loads(body)
    assert isinstance(answer, dict)
    return answer


def free_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `name (1)`, `name (2)`...: never over an existing file. The name
    is the last part of what the server said, never a path it chose."""
    name = name.replace("\\", "/").rpartition("/")[2].strip(" .") or "download"
    candidate = folder / name
    stem, dot, suffix = name.partition(".")
    number = 1
    while candidate.exists():
        candidate = folder / f"{stem} ({number}){dot}{suffix}"
        number += 1
    return candidate


async def download(
    url: str, token: str, dest: Path, progress: Progress, ca: str | None = None
) -> Path:
    """Save the file at `url` as `dest` (written beside it first, renamed when whole)."""
    parts = urlsplit(url)
    reader, writer = await _open(url, ca)
    partial = dest.with_name(f".{dest.name}.part")
    try:
        writer.write(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode()
        )
        status, headers = await _response(reader)
        if status != 200:
            text = (await _body(reader, headers, 4096)).decode(errors="replace").strip()
            raise TransferError(text or f"HTTP {status}")
        total = int(headers.get("content-length", "0") or 0)
        done = 0
        with partial.open("wb") as file:
            while done < total:
                chunk = await asyncio.wait_for(reader.read(min(CHUNK, total - done)), TIMEOUT)
                if not chunk:
                    raise TransferError("the download broke")
                file.write(chunk)
                done += len(chunk)
                progress(done, total)
        os.replace(partial, dest)
        return dest
    finally:
        partial.unlink(missing_ok=True)
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


class ProgressBar:
    """`label [#####.....]  50%`: shown at every tenth of the way (each a line, which works
    on a terminal under the prompt and in a script's output alike)."""

    WIDTH = 20

    def __init__(self, show: Callable[[str], None], label: str) -> None:
        self.show = show
        self.label = label
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        tenth = 10 if total <= 0 else min(10, done * 10 // total)
        if tenth <= self.shown:
            return
        self.shown = tenth
        filled = tenth * self.WIDTH // 10
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.show(f"{self.label} [{bar}] {tenth * 10:3d}%")
