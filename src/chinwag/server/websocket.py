"""The web front end's connections: HTTP requests, then (on /ws) a chat connection.

Server layer. `WebListener` accepts TCP (or TLS, with the TLS listener's context) on
`--http-port`; each socket gets a `WebConnection`, whose bytes go through the `websockets`
package's sans-I/O `ServerProtocol`: first the HTTP request, answered by `WebSite` (the page,
/health, /metrics) and closed; or, on /ws, the handshake, after which the same object is an
ordinary chat `Connection`: it attaches a session, and its messages take the same way as a
TCP client's (codec, engine, fan-out, outbox), with the WebSocket frames unwrapped here on
the way in and built by `protocol.websocket.WebSocketCodec` on the way out (one frame per
notice, shared by every WebSocket recipient).

Only the input side uses the library's frame parser (unmasking, fragments, control frames,
size limits); the output never goes through `ServerProtocol.send_text`, since that would
build each frame again for every recipient.
"""

from __future__ import annotations

import asyncio
import http
import logging
import re
import ssl
from typing import BinaryIO, cast

import orjson
from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN as WS_OPEN
from websockets.server import ServerProtocol

from chinwag.engine.session import Session
from chinwag.protocol.framing import LineFraming
from chinwag.protocol.websocket import CLOSE_UNSUPPORTED, WebSocketCodec, close_frame
from chinwag.server.connection import (
    CLOSED,
    DRAINED,
    DRAINING,
    MAX_BACKLOG,
    Connection,
    Host,
)
from chinwag.server.files import (
    MAX_HEAD,
    FileService,
    HttpError,
    Upload,
    UploadHead,
    parse_head,
)
from chinwag.server.listeners import FrontEnd, Listener, keep_alive
from chinwag.server.tls import SHUTDOWN_TIMEOUT
from chinwag.web.site import SECURITY_HEADERS, WebSite

log = logging.getLogger("chinwag.server")

HTTP_TIMEOUT = 10.0  # seconds to send a whole request (or finish the TLS handshake)
LINGER = 2.0  # seconds an answered upload's socket reads (and drops) before it closes
MAX_PENDING = 1024  # HTTP connections not (yet) a WebSocket; more are refused at once
SEND_CHUNK = 256 * 1024  # a download is read and written this much at a time
SEND_HIGH = 1024 * 1024  # ...while less than this waits to be taken by the client
HOST = re.compile(r"^[A-Za-z0-9.\[\]:-]{1,255}$")  # a Host header fit to build a link from
# A message over max_line gets the `line_too_long` error and the connection goes on, as
# over TCP; one over this many times max_line is closed with 1009 by the frame parser.
HARD_LIMIT_FACTOR = 16

TEXT, BINARY, CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
PONG, CLOSE = Opcode.PONG, Opcode.CLOSE


class WebConnection(Connection):
    __slots__ = (
        "early",
        "fragments",
        "listener",
        "post",
        "sending",
        "timer",
        "upgraded",
        "ws",
    )

    def __init__(self, host: Host, listener: WebListener) -> None:
        max_line = listener.max_line
        super().__init__(host, WebSocketCodec(), LineFraming(max_line))
        self.listener = listener
        # The library checks sizes (also across fragments); no extensions are offered, so
        # permessage-deflate is never negotiated and frames stay shareable.
        self.ws = ServerProtocol(max_size=max_line * HARD_LIMIT_FACTOR)
        self.upgraded = False
        self.fragments: list[bytes] | None = None  # a fragmented text message so far
        self.timer: asyncio.TimerHandle | None = None
        self.early: bytes | None = b""  # the first line, until it says GET or POST
        self.post: Post | None = None  # an upload (POST /api/files), read here
        self.sending: asyncio.Event | None = None  # a download waits for the client to read

    # ------------------------------------------------------------------ HTTP, before /ws

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not a chat connection yet: no session until the WebSocket handshake succeeds.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        pending = self.listener.pending
        if len(pending) >= self.listener.max_pending:
            # Requests not yet answered hold a socket each for up to HTTP_TIMEOUT: past
            # this many, a flood of them would take the sockets chat clients need.
            self.listener.refused += 1
            self.transport.abort()
            return
        pending.add(self)
        self.timer = self.host.loop.call_later(HTTP_TIMEOUT, self._too_slow)

    def _too_slow(self) -> None:
        if not self.upgraded and self.transport is not None:
            self.transport.abort()

    def _restart_timer(self) -> None:
        """An upload may take long: it is cut after HTTP_TIMEOUT without a byte, instead."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.host.loop.call_later(HTTP_TIMEOUT, self._too_slow)

    def data_received(self, data: bytes) -> None:
        if self.upgraded:
            self._frames(data)
            return
        if self.post is not None:
            self._post(data)
            return
        early = self.early
        if early is not None:  # GET goes to the websockets parser, POST is read here
            data = early + data
            if b"\r\n" not in data[:MAX_HEAD] and len(data) < MAX_HEAD:
                self.early = data
                return
            self.early = None
            if data.startswith(b"POST "):
                self.post = Post()
                self._post(data)
                return
        ws = self.ws
        ws.receive_data(data)
        for event in ws.events_received():
            if isinstance(event, Request) and not self.upgraded:
                self._request(event)
        if not self.upgraded:
            self._write_http()

    def _request(self, request: Request) -> None:
        site = self.listener.site
        if request.path.startswith("/api/files/") and self.listener.files is not None:
            self.host.spawn(self._download(request, self.listener.files))
            return
        try:
            reply = site.route(request)
        except Exception:  # a bug in a route must not leave the socket hanging
            log.exception("%s: %s %s failed", self.peer, request.method, request.path)
            self.ws.send_response(self.ws.reject(500, "Internal error\n"))
            return
        if not reply.upgrade:
            self.ws.send_response(site.response(request, reply))
            return
        response = self.ws.accept(request)
        self.ws.send_response(response)
        if response.status_code != 101:  # not a valid handshake: answered and closed
            return
        self.upgraded = True
        self._end_http()
        assert self.transport is not None
        self.transport.write(b"".join(self.ws.data_to_send()))
        super().connection_made(self.transport)  # now a chat connection: attach

    # ------------------------------------------------------------------ files

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

    def resume_writing(self) -> None:
        if self.sending is not None:
            self.sending.set()
        super().resume_writing()

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

    def _write_http(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for data in self.ws.data_to_send():
            if data:
                transport.write(data)
            else:  # the library's end of the answer: close once it is written
                transport.close()

    def _end_http(self) -> None:
        self.listener.pending.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    # ------------------------------------------------------------------ WebSocket frames

    def _frames(self, data: bytes) -> None:
        self.last_seen = self.host.loop.time()
        state = self.state
        if state is DRAINING or state is DRAINED or state is CLOSED:
            return  # shutting down: read, so the kernel holds no input, and ignore
        ws = self.ws
        ws.receive_data(data)
        frames = ws.events_received()
        if len(frames) > MAX_BACKLOG:
            # More commands in one read than a client may be ahead of its rate.
            self.abort(f"command flood: more than {MAX_BACKLOG} frames at once")
            return
        self.pinged = False
        codec = self.codec
        for frame in frames:
            if not isinstance(frame, Frame):
                continue
            opcode = frame.opcode
            if opcode is TEXT or opcode is CONT:
                self._text(frame)
            elif opcode is PONG:
                self.answers_pings = True
            elif opcode is BINARY:
                self._run(codec.events_received())
                self.queue(close_frame(CLOSE_UNSUPPORTED, "text frames only"), 0)
                self.close("sent a binary frame")
                return
        self._run(codec.events_received())
        self._control()

    def _text(self, frame: Frame) -> None:
        """A text frame, or a piece of one fragmented message; whole messages go to the
        codec, one JSON object each."""
        if frame.opcode is TEXT and frame.fin:
            message = frame.data
        else:
            fragments = self.fragments
            if fragments is None:
                fragments = self.fragments = []
            fragments.append(bytes(frame.data))
            if not frame.fin:
                return
            message = b"".join(fragments)
            self.fragments = None
        limit = self.framing.max_line
        if len(message) > limit:
            self.codec.receive_too_long(len(message), limit)
        else:
            self.codec.receive_message(bytes(message))

    def _control(self) -> None:
        """What the frame parser wants sent: pongs at once (whole frames, so they never
        split one of ours); after a close frame or a protocol error, its close frame
        behind what the client is owed, and then the connection closes."""
        ws = self.ws
        out = ws.data_to_send()
        if not out:
            return
        if ws.state is WS_OPEN:
            assert self.transport is not None
            self.transport.write(b"".join(out))
            return
        for data in out:
            if data:
                self.queue(data, 0)
        if ws.close_rcvd is not None:
            self.close("client closed the connection")
        else:
            exc = ws.parser_exc
            self.close(f"WebSocket error: {exc}" if exc else "WebSocket error")

    def eof_received(self) -> bool:
        if not self.upgraded:
            post = self.post
            if post is not None and post.upload is not None and not post.done:
                post.upload.abort()  # the body was cut short
            return False  # a request cut short: close
        if self.state is DRAINING or self.state is DRAINED:
            return False
        self.close("client closed the connection")
        return False  # WebSocket has its own close handshake; nothing to half-close for

    def connection_lost(self, exc: Exception | None) -> None:
        if self.sending is not None:
            self.sending.set()  # a download stops
        if not self.upgraded:
            post = self.post
            if post is not None and post.upload is not None and not post.done:
                post.upload.abort()
            self._end_http()
            self.transport = None
            return
        super().connection_lost(exc)


class Post:
    """An upload's progress on one connection."""

    __slots__ = ("done", "head", "parsed", "session", "upload")

    def __init__(self) -> None:
        self.head = bytearray()
        self.parsed: UploadHead | None = None
        self.session: Session | None = None
        self.upload: Upload | None = None
        self.done = False  # answered, or being answered


class WebListener(Listener):
    """HTTP and WebSocket on one port (HTTPS and WSS when given the TLS context)."""

    def __init__(
        self,
        host: str,
        port: int,
        site: WebSite,
        *,
        max_line: int,
        keepalive_idle: float = 30.0,
        reuse_port: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        files: FileService | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.files = files
        self.max_pending = max_pending
        self.refused = 0  # connections refused because max_pending were open
        self.host = host
        self.port = port
        self.site = site
        self.max_line = max_line
        self.front_end = FrontEnd("websocket", WebSocketCodec, lambda: LineFraming(max_line))
        self.keepalive_idle = keepalive_idle
        self.reuse_port = reuse_port
        self.ssl_context = ssl_context
        self.secure = ssl_context is not None
        self.pending: set[WebConnection] = set()  # HTTP requests not (yet) a WebSocket
        self.bound: list[int] = []
        self._server: asyncio.Server | None = None

    def base_url(self) -> str:
        """This listener's own URL, for links when a request named no usable host."""
        scheme = "https" if self.secure else "http"
        port = self.bound[0] if self.bound else self.port
        return f"{scheme}://{self.host}:{port}"

    async def start(self, host: Host) -> list[int]:
        loop = asyncio.get_running_loop()
        tls = self.ssl_context
        self._server = await loop.create_server(
            lambda: WebConnection(host, self),
            self.host,
            self.port,
            backlog=4096,
            reuse_port=self.reuse_port or None,
            ssl=tls,
            ssl_handshake_timeout=HTTP_TIMEOUT if tls else None,
            ssl_shutdown_timeout=SHUTDOWN_TIMEOUT if tls else None,
        )
        for sock in self._server.sockets:
            keep_alive(sock, self.keepalive_idle)
            self.bound.append(sock.getsockname()[1])
        return list(self.bound)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.pending):  # requests half sent: nothing is owed to them
            if conn.transport is not None:
                conn.transport.abort()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
