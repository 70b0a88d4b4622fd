"""Files shared in rooms: `POST /api/files` and `GET /api/files/ROOM/ID` (server layer).

The bytes live under the data folder by content hash (`DATA/files/ab/abcdef...`, one copy
however often a file is shared), their description in the room's `file` message
(engine/files.py). Both requests need the login token of a signed-in session as a bearer
token; a download also needs that session to be in the file's room.

A download is never served as something a browser would run: images (PNG, JPEG, GIF,
WebP) inline with their type, everything else as `application/octet-stream` with
`Content-Disposition: attachment`, and `nosniff`, a sandboxing CSP on all of them.

The upload's request head is parsed here (the `websockets` HTTP parser refuses bodies):
HTTP/1.1, `Content-Length` required, no transfer codings, limits on every part.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

from chinwag.engine.limits import wall_clock
from chinwag.engine.session import Session
from chinwag.protocol import events as ev

if TYPE_CHECKING:
    from chinwag.server.app import ChatServer

log = logging.getLogger("chinwag.server")

MAX_HEAD = 16 * 1024  # request line and headers of an upload
MAX_NAME = 200  # characters of a file name kept
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
DOWNLOAD_PATH = re.compile(r"^/api/files/([^/?#]{1,64})/([0-9]{1,19})(?:/[^?#]*)?$")


class HttpError(Exception):
    """An answer other than success: status and a short text for the client."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(frozen=True, slots=True)
class UploadHead:
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; a repeated header is an error
    length: int


def parse_head(head: bytes) -> UploadHead:
    """An upload's request line and headers (without the blank line), or HttpError."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400, "Request head is not ASCII") from None
    line, *lines = text.split("\r\n")
    parts = line.split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1":
        raise HttpError(400, "Bad request line")
    method, target, _ = parts
    if method != "POST":
        raise HttpError(405, "Method not allowed")
    headers: dict[str, str] = {}
    for raw in lines:
        name, sep, value = raw.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, "Bad header line")
        key = name.lower()
        if key in headers:
            raise HttpError(400, f"Repeated header {name}")
        headers[key] = value.strip()
    if "transfer-encoding" in headers:
        raise HttpError(411, "Send Content-Length, not a transfer coding")
    length_text = headers.get("content-length")
    if length_text is None or not length_text.isdigit() or len(length_text) > 15:
        raise HttpError(411, "Content-Length required")
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    return UploadHead(url.path, query, headers, int(length_text))


def bearer(headers: dict[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def clean_name(name: str) -> str:
    """A file name safe to show and to offer for saving: no folders, no control or format
    characters (bidi overrides), not empty, at most MAX_NAME characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rpartition("/")[2]
    kept = "".join(c for c in name if unicodedata.category(c)[0] not in "CZ" or c == " ")
    kept = kept.strip(" .")[:MAX_NAME]
    return kept or "file"


def clean_media_type(value: str | None) -> str:
    kind = (value or "").partition(";")[0].strip().lower()
    return kind if _MEDIA_TYPE.match(kind) else "application/octet-stream"


def download_headers(name: str, media_type: str, size: int) -> list[tuple[str, str]]:
    """Headers that make a download data, never a page: see the module docstring."""
    inline = media_type in INLINE_IMAGES
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "") or "file"
    disposition = "inline" if inline else "attachment"
    return [
        ("Content-Type", media_type if inline else "application/octet-stream"),
        ("Content-Length", str(size)),
        (
            "Content-Disposition",
            f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        ),
        ("Content-Security-Policy", "default-src 'none'; sandbox"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Cache-Control", "private, no-cache"),
        ("Referrer-Policy", "no-referrer"),
    ]


def download_target(path: str) -> tuple[str, int] | None:
    """(room key, message id) of a download URL's path, or None."""
    match = DOWNLOAD_PATH.match(path)
    if match is None:
        return None
    return unquote(match[1]), int(match[2])


class Upload:
    """One upload on its way to disk: written as it arrives, hashed, counted."""

    def __init__(self, store: FileStore, expected: int) -> None:
        self.store = store
        self.expected = expected
        self.size = 0
        self.hash = hashlib.sha256()
        fd, name = tempfile.mkstemp(dir=store.incoming, prefix="upload-")
        self.temp = Path(name)
        self.file: BinaryIO | None = os.fdopen(fd, "wb")

    @property
    def complete(self) -> bool:
        return self.size >= self.expected

    def write(self, data: bytes) -> bytes:
        """Take the body's bytes; what goes past Content-Length is handed back."""
        room = self.expected - self.size
        body, rest = data[:room], data[room:]
        assert self.file is not None
        self.file.write(body)  # the page cache: microseconds; fsync happens in finish()
        self.hash.update(body)
        self.size += len(body)
        return rest

    def finish(self) -> str:
        """Make the bytes durable under their hash (blocking: run it in a thread)."""
        assert self.file is not None
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        self.file = None
        digest = self.hash.hexdigest()
        final = self.store.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp, final)  # the same bytes if it was there already
        return digest

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.temp.unlink(missing_ok=True)


class FileStore:
    """Files by content hash under one folder (DATA/files; a temporary one for :memory:)."""

    def __init__(self, root: Path | None, max_size: int) -> None:
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="chinwag-files-")
            root = Path(self._scratch.name)
        self.root = root
        self.max_size = max_size
        self.incoming = root / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        for stale in self.incoming.glob("upload-*"):  # cut short by a crash
            stale.unlink(missing_ok=True)

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256[:2] / sha256

    def begin(self, expected: int) -> Upload:
        return Upload(self, expected)

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()


class FileService:
    """What the web connections ask about files: who may, where they go, the answers."""

    def __init__(self, server: ChatServer) -> None:
        config = server.config
        self.server = server
        data = config.data_dir
        self.store = FileStore(None if data is None else data / "files", config.max_file_size)
        self.origin = config.http_origin[0] if config.http_origin else None

    def admit(self, head: UploadHead) -> Session:
        """The session an upload is for, checked before its body is read; or HttpError."""
        if head.path != "/api/files":
            raise HttpError(404, "Not found")
        if head.length > self.store.max_size:
            raise HttpError(413, f"Files are at most {self.store.max_size:,} bytes")
        session = self.session(head.headers)
        room = head.query.get("room")
        if not room:
            raise HttpError(400, "Say which room: /api/files?room=NAME&name=FILE")
        if not self.server.engine.in_room(session, room):
            raise HttpError(403, f"You are not in room {room}")
        return session

    def session(self, headers: dict[str, str]) -> Session:
        token = bearer(headers)
        session = None if token is None else self.server.engine.session_for_token(token)
        if session is None:
            raise HttpError(401, "Sign in: send your login token as a bearer token")
        return session

    async def finish(
        self, session: Session, head: UploadHead, upload: Upload, base: str
    ) -> dict[str, object]:
        """Keep the bytes, then post the room's `file` message; its description."""
        try:
            digest = await asyncio.to_thread(upload.finish)
        except OSError as exc:
            upload.abort()
            log.error("cannot store an upload: %s", exc)
            raise HttpError(507, "The server cannot store files now") from None
        name = clean_name(head.query.get("name", ""))
        media_type = clean_media_type(head.headers.get("content-type"))
        origin = self.origin or base
        server = self.server
        answer = server.engine.share_file(
            session,
            head.query["room"],
            name=name,
            size=upload.size,
            media_type=media_type,
            sha256=digest,
            url=lambda room, message_id: f"{origin}/api/files/{quote(room)}/{message_id}",
            now=wall_clock(),
        )
        if isinstance(answer, ev.Error):
            status = {"rate_limited": 429, "store_unavailable": 503}.get(answer.code, 403)
            raise HttpError(status, answer.message)
        server.publish(answer)
        shared = answer[0].notice
        assert isinstance(shared, ev.FileShared)
        return {"id": shared.id, "room": shared.room, "name": name, "size": shared.size,
                "media_type": media_type, "url": shared.url, "sha256": digest}  # fmt: skip

    async def download(
        self, path: str, headers: dict[str, str]
    ) -> tuple[list[tuple[str, str]], BinaryIO]:
        """A file's headers and the file, open, for a member of its room; or HttpError.
        The caller streams it and closes it."""
        target = download_target(path)
        if target is None:
            raise HttpError(404, "Not found")
        room, message_id = target
        session = self.session(headers)
        if not self.server.engine.in_room(session, room):
            raise HttpError(403, "You are not in that file's room")
        rows = await self.server.store.history(
            room.casefold(), after=message_id - 1, before=message_id + 1, limit=1
        )
        shared = rows[0] if rows else None
        if not isinstance(shared, ev.FileShared) or shared.id != message_id or shared.deleted:
            raise HttpError(404, "No such file")
        try:
            file = await asyncio.to_thread(self.store.path(shared.sha256).open, "rb")
        except (OSError, ValueError):
            raise HttpError(404, "The file is gone") from None
        size = os.fstat(file.fileno()).st_size
        return download_headers(shared.name, shared.media_type, size), file
