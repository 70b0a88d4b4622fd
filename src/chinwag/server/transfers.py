"""File transfers on a web connection: uploads read from the socket, downloads streamed.

Server layer; a mixin of `server.websocket.WebConnection` (which owns the socket, the
request timer and the HTTP parser), kept apart so that the chat connection stays small.
What is allowed, and where the bytes go, is `server.files.FileService`'s.
"""

from __future__ import annotations

import asyncio
import http
import logging
import re
from typing import TYPE_CHECKING, BinaryIO

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from chinwag.engine.session import Session
from chinwag.server.files import (
    MAX_HEAD,
    FileService,
    HttpError,
    Upload,
    UploadHead,
    parse_head,
)
from chinwag.web.site import SECURITY_HEADERS

if TYPE_CHECKING:
    from chinwag.server.connection import Host
    from chinwag.server.websocket import WebListener

log = logging.getLogger("chinwag.server")

LINGER = 2.0  # seconds an answered upload's socket reads (and drops) before it closes
SEND_CHUNK = 256 * 1024  # a download is read and written this much at a time
SEND_HIGH = 1024 * 1024  # ...while less than this waits to be taken by the client
HOST = re.compile(r"^[A-Za-z0-9.\[\]:-]{1,255}$")  # a Host header fit to build a link from


class Post:
    """An upload's progress on one connection."""

    __slots__ = ("done", "head", "parsed", "session", "upload")

    def __init__(self) -> None:
        self.head = bytearray()
        self.parsed: UploadHead | None = None
        self.session: Session | None = None
        self.upload: Upload | None = None
        self.done = False  # answered, or being answered


class FileTransfers:
    """The file half of a web connection (see the module docstring). No __slots__ of its
    own: its state lives in WebConnection's slots."""

    if TYPE_CHECKING:  # provided by WebConnection
        transport: asyncio.Transport | None
        host: Host
        listener: WebListener
        ws: ServerProtocol
        peer: str
        post: Post | None
        sending: asyncio.Event | None

        def _restart_timer(self) -> None: ...

        def _write_http(self) -> None: ...

    async def _download(self, request: Request, files: FileService) -> None:
        headers = {k.lower(): v for k, v in request.headers.raw_items()}
        try:
            if request.method != "GET":
                raise HttpError(405, "GET only")
            fields, file = await files.download(request.path.partition("?")[0], headers)
        except HttpError as exc:
            response = self._error(exc)
        except Exception:
            log.exception("%s: download of %s failed", self.peer, request.path)
            response = self._error(HttpError(500, "Internal error"))
        else:
            try:
                await self._send_file(fields, file)
            finally:
                file.close()
            return
        if self.transport is None:
            return
        self.ws.send_response(response)
        self._write_http()

    async def _send_file(self, fields: list[tuple[str, str]], file: BinaryIO) -> None:
        """Stream a file as the client reads it: at most SEND_HIGH bytes wait in the
        kernel and the transport, whatever its size; a client that stops reading for
        HTTP_TIMEOUT is cut (the timer restarts with every chunk it takes)."""
        transport = self.transport
        if transport is None:
            return
        head = Response(200, "OK", Headers([("Connection", "close"), *fields]), b"")
        transport.write(head.serialize())
        while self.transport is not None:
            chunk = await asyncio.to_thread(file.read, SEND_CHUNK)
            if not chunk or self.transport is None:
                break
            transport.write(chunk)
            self._restart_timer()
            while self.transport is not None and transport.get_write_buffer_size() > SEND_HIGH:
                self.sending = asyncio.Event()
                await self.sending.wait()
        if self.transport is not None:
            transport.close()

    def _error(self, exc: HttpError) -> Response:
        body = (exc.text + "\n").encode()
        headers = Headers(
            [
                ("Connection", "close"),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *SECURITY_HEADERS,
            ]
        )
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return Response(exc.status, http.HTTPStatus(exc.status).phrase, headers, body)

    def _post(self, data: bytes) -> None:
        """An upload: its head, checked before the body is read; the body, to disk."""
        post = self.post
        assert post is not None
        files = self.listener.files
        if post.done:
            return  # answered: what still comes is read and dropped
        self._restart_timer()
        if post.upload is None:
            post.head += data
            end = post.head.find(b"\r\n\r\n")
            if end < 0:
                if len(post.head) > MAX_HEAD:
                    self._answer(self._error(HttpError(431, "Request head too large")))
                return
            try:
                if files is None:
                    raise HttpError(404, "Not found")
                post.parsed = parse_head(bytes(post.head[:end]))
                post.session = files.admit(post.parsed)
            except HttpError as exc:
                self._answer(self._error(exc))
                return
            data = bytes(post.head[end + 4 :])
            post.head = bytearray()
            post.upload = files.store.begin(post.parsed.length)
            if post.parsed.headers.get("expect", "").lower() == "100-continue":
                assert self.transport is not None
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        upload = post.upload
        upload.write(data)
        if upload.complete:
            post.done = True
            assert self.transport is not None and files is not None
            self.transport.pause_reading()
            self.host.spawn(self._finish_upload(post, files))

    async def _finish_upload(self, post: Post, files: FileService) -> None:
        assert post.upload is not None and post.parsed is not None and post.session is not None
        host = post.parsed.headers.get("host", "")
        scheme = "https" if self.listener.secure else "http"
        base = f"{scheme}://{host}" if HOST.match(host) else self.listener.base_url()
        try:
            answer = await files.finish(post.session, post.parsed, post.upload, base)
        except HttpError as exc:
            self._answer(self._error(exc))
            return
        except Exception:
            post.upload.abort()
            log.exception("%s: upload failed", self.peer)
            self._answer(self._error(HttpError(500, "Internal error")))
            return
        body = orjson.dumps(answer)
        headers = Headers(
            [
                ("Connection", "close"),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *SECURITY_HEADERS,
            ]
        )
        self._answer(Response(201, "Created", headers, body))

    def _answer(self, response: Response) -> None:
        """Answer an upload and close. A refusal may come before the body was read: half-
        close, and read (and drop) what the client still sends for a moment, so that the
        kernel does not answer its bytes with a reset that destroys our answer."""
        post = self.post
        if post is not None:
            post.done = True
            if post.upload is not None and not post.upload.complete:
                post.upload.abort()
        transport = self.transport
        if transport is None:
            return
        transport.write(response.serialize())
        transport.resume_reading()
        if transport.can_write_eof():
            transport.write_eof()
            self.host.loop.call_later(LINGER, transport.close)
        else:
            transport.close()
