"""Listeners: where connections come from, registered on the server, not hard-wired in it.

A front end is a listener + a framing + a codec + the outlet the listener makes for each
connection. `TcpListener` serves a byte stream with line framing and one dialect's codec
(the main port's codec detects the dialect); given an SSLContext (server/tls.py) it serves
the same over TLS: asyncio's TLS transport gives a `Connection` the same callbacks once the
handshake is done. WebSocket listeners plug in the same way (`ChatServer.add_listener`).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from chinwag.protocol.codec import Codec
from chinwag.protocol.framing import LineFraming
from chinwag.server.connection import Connection, Host
from chinwag.server.tls import HANDSHAKE_TIMEOUT, SHUTDOWN_TIMEOUT


@dataclass(frozen=True, slots=True)
class FrontEnd:
    dialect: str
    codec: Callable[[], Codec]
    framing: Callable[[], LineFraming]


def keep_alive(sock: socket.socket, idle: float) -> None:
    """TCP keep-alive, set on a listening socket: accepted sockets inherit it (Linux).

    The kernel then finds half-open peers of every dialect, even those that cannot pong.
    (uvloop and asyncio set TCP_NODELAY on each connection themselves.)
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, int(idle)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


class Listener(ABC):
    """Accepts connections for one front end."""

    front_end: FrontEnd
    secure = False  # TLS: said in the log line that names the port

    @abstractmethod
    async def start(self, host: Host) -> list[int]:
        """Start accepting; the ports bound (useful when port 0 was asked for)."""

    @abstractmethod
    def close(self) -> None:
        """Stop accepting; connections already made go on."""

    @abstractmethod
    async def wait_closed(self) -> None: ...


class TcpListener(Listener):
    """TCP, or TLS over TCP when given `ssl_context`."""

    def __init__(
        self,
        host: str,
        port: int,
        front_end: FrontEnd,
        *,
        keepalive_idle: float = 30.0,
        reuse_port: bool = False,
        backlog: int = 4096,
        ssl_context: ssl.SSLContext | None = None,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ) -> None:
        self.host = host
        self.port = port
        self.front_end = front_end
        self.keepalive_idle = keepalive_idle
        self.reuse_port = reuse_port
        self.backlog = backlog
        self.ssl_context = ssl_context
        self.secure = ssl_context is not None
        self.handshake_timeout = handshake_timeout
        self.bound: list[int] = []  # the ports bound, once started
        self._server: asyncio.Server | None = None

    async def start(self, host: Host) -> list[int]:
        front_end = self.front_end

        def connection() -> Connection:
            return Connection(host, front_end.codec(), front_end.framing())

        loop = asyncio.get_running_loop()
        tls = self.ssl_context
        self._server = await loop.create_server(
            connection,
            self.host,
            self.port,
            backlog=self.backlog,
            reuse_port=self.reuse_port or None,
            ssl=tls,
            # The loop runs the handshake; the Connection is made only once it is done.
            ssl_handshake_timeout=self.handshake_timeout if tls else None,
            ssl_shutdown_timeout=SHUTDOWN_TIMEOUT if tls else None,
        )
        for sock in self._server.sockets:
            keep_alive(sock, self.keepalive_idle)
            self.bound.append(sock.getsockname()[1])
        return list(self.bound)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
