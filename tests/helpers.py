"""Shared test helpers: a real server on 127.0.0.1 and raw line clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from chinwag.config import ServerConfig
from chinwag.server.app import ChatServer

TIMEOUT = 5.0  # seconds any single expected reply may take before a test fails
# What `LineClient.until` may skip: presence, which comes and goes around anything a test
# waits for, and the server's keep-alive pings. Content never is skipped.
NOISE = frozenset({"user_joined", "user_left", "nick", "ping"})


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now (for servers run as processes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Until something accepts on the port (bounded); fails if the process exits first."""
    async with asyncio.timeout(20):
        while True:
            assert proc is None or proc.poll() is None, "server exited early"
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


def needs_service(available: bool, reason: str) -> None:
    """Skip when a local service is missing; in CI (CI=true) fail instead."""
    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: services must be present)")
    pytest.skip(reason, allow_module_level=True)


def needs_module(name: str, reason: str) -> None:
    """At the top of a test module: skip it (fail under CI=true) when `name` is missing."""
    try:
        __import__(name)
    except ImportError:
        needs_service(False, reason)


@contextlib.asynccontextmanager
async def running_server(
    data: Path | str = ":memory:", **settings: Any
) -> AsyncIterator[ChatServer]:
    """A real ChatServer on an ephemeral port of 127.0.0.1; shut down on exit."""
    # Weak but fast password hashes: tests that measure the real cost ask for it.
    # No web front end unless a test asks for one (http_port=-1: any free port).
    config = ServerConfig(
        host="127.0.0.1", port=0, data=str(data), password_profile="cheapest", http_port=0
    )
    limits = {k: settings.pop(k) for k in list(settings) if hasattr(config.limits, k)}
    for key, value in settings.items():
        if not hasattr(config, key):
            raise AttributeError(f"ServerConfig has no setting {key!r}")
        setattr(config, key, value)
    for key, value in limits.items():
        setattr(config.limits, key, value)
    server = ChatServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown()


@contextlib.asynccontextmanager
async def node_pair(**settings: Any) -> AsyncIterator[list[ChatServer]]:
    """Two nodes of one chat on ephemeral ports of 127.0.0.1, in this process: they share
    one MemoryStore object (one id sequence, one committed id) and an in-process bus network,
    as nodes over PostgreSQL and NATS share theirs. `settings` as for running_server."""
    from chinwag.bus.local import InProcessBus, InProcessNetwork
    from chinwag.storage.memory import MemoryStore

    store, network = MemoryStore(), InProcessNetwork()
    servers: list[ChatServer] = []
    try:
        for _ in range(2):
            config = ServerConfig(
                host="127.0.0.1", port=0, data=":memory:", password_profile="cheapest",
                http_port=0,
            )  # fmt: skip
            for key, value in settings.items():
                setattr(config.limits if hasattr(config.limits, key) else config, key, value)
            server = ChatServer(config, store=store, bus=InProcessBus(network))
            await server.start()
            servers.append(server)
        yield servers
    finally:
        for server in servers:
            await server.shutdown()


class LineClient:
    """A raw socket client that speaks lines; `json()` helpers for the native dialect."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> LineClient:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        return cls(reader, writer)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, obj: dict[str, Any]) -> None:
        await self.send_raw(orjson.dumps(obj) + b"\n")

    async def send_line(self, text: str) -> None:
        await self.send_raw(text.encode() + b"\n")

    async def line(self, timeout: float = TIMEOUT) -> bytes:
        data = await asyncio.wait_for(self.reader.readline(), timeout)
        if not data:
            raise EOFError("server closed the connection")
        return data.rstrip(b"\r\n")

    async def text(self, timeout: float = TIMEOUT) -> str:
        return (await self.line(timeout)).decode()

    async def json(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        obj = orjson.loads(await self.line(timeout))
        assert isinstance(obj, dict), obj
        return obj

    async def until(
        self, kind: str, timeout: float = TIMEOUT, skip: frozenset[str] = NOISE
    ) -> dict[str, Any]:
        """The next native message of type `kind`, skipping only `skip` types on the way.

        Anything else arriving first fails the test: a message nobody expected (a leaked
        private message, say) must never be skipped silently.
        """
        async with asyncio.timeout(timeout):
            while True:
                obj = await self.json(timeout)
                if obj.get("type") == kind:
                    return obj
                if obj.get("type") not in skip:
                    raise AssertionError(f"waiting for {kind!r}, got {obj!r}")

    async def settle(self, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Everything the server owes this client now: a ping's pong comes after all of it."""
        await self.send({"type": "ping", "token": "settle"})
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                obj = await self.json(timeout)
                if obj.get("type") == "pong" and obj.get("token") == "settle":
                    return seen
                seen.append(obj)

    async def join(self, username: str, **extra: Any) -> dict[str, Any]:
        await self.send({"type": "join", "username": username, **extra})
        welcome = await self.json()
        assert welcome["type"] == "welcome", welcome
        return welcome

    async def closed(self, timeout: float = TIMEOUT) -> bool:
        """True once the server has closed the connection (reads what is left)."""
        async with asyncio.timeout(timeout):
            while await self.reader.read(65536):
                pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def joined(port: int, *names: str) -> list[LineClient]:
    """Connect and join each name in turn, reading every join notice so queues are empty."""
    clients: list[LineClient] = []
    for name in names:
        client = await LineClient.connect(port)
        await client.join(name)
        for other in clients:
            notice = await other.until("user_joined")
            assert notice["username"] == name
        clients.append(client)
    return clients
