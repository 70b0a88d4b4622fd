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

Files (`/api/files`, server/files.py) are the one place with a request body: a POST is
recognised by its first line and read here, its head checked before its body; a download
is streamed as the client reads it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from typing import cast

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN as WS_OPEN
from websockets.server import ServerProtocol

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
)
from chinwag.server.listeners import FrontEnd, Listener, keep_alive
from chinwag.server.tls import SHUTDOWN_TIMEOUT
from chinwag.server.transfers import FileTransfers, Post
from chinwag.web.site import WebSite

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


class WebConnection(FileTransfers, Connection):
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

    def resume_writing(self) -> None:
        if self.sending is not None:
            self.sending.set()
        super().resume_writing()

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
