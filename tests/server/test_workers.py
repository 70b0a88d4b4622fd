"""`chinwag serve --workers N` as a process: the supervisor, its workers on one port, a worker
killed and started again, SIGTERM for all, and the refusals without a shared store and bus.

The workers share a PostgreSQL schema of this test's own (tests/postgres_support.py) and
NATS subjects under a prefix of its own (tests/bus/conftest.py). Which worker took a
connection is read from the log: each worker's lines say `worker K:`, and its "New
connection from 127.0.0.1:PORT" names the client's own port.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.bus.conftest import NATS_URL, listening, unique_prefix
from tests.helpers import TIMEOUT, LineClient, free_port, needs_module, needs_service
from tests.postgres_support import PG_URL, fresh_schema, pg_run

SERVES = re.compile(r"worker (\d+) \(pid (\d+)\) serves")


@pytest.fixture
def shared() -> Iterator[list[str]]:
    """The flags of a store and a bus the workers share, fresh for this test."""
    needs_module("nats", "nats-py is not installed (pip install -e '.[dev]')")
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")
    with fresh_schema() as schema:
        pg_run(f'CREATE SCHEMA "{schema}"')
        joiner = "&" if "?" in PG_URL else "?"
        store = f"{PG_URL}{joiner}search_path={schema}"
        yield ["--store", store, "--bus", NATS_URL, "--bus-prefix", unique_prefix()]


class Supervised:
    """`chinwag serve --workers 2` with its log in a file the test reads."""

    def __init__(self, tmp: Path, flags: list[str]) -> None:
        self.port, self.http = free_port(), free_port()
        self.log = tmp / "server.log"
        args = ["--workers", "2", "--port", str(self.port), "--http-port", str(self.http),
                "--data", str(tmp / "data"), *flags]  # fmt: skip
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chinwag", "serve", *args],
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def serving(self) -> dict[int, int]:
        """Worker number -> the pid that serves as it now (the latest one logged)."""
        return {int(n): int(pid) for n, pid in SERVES.findall(self.text())}

    async def until_serving(
        self, count: int, not_pids: frozenset[int] = frozenset()
    ) -> dict[int, int]:
        async with asyncio.timeout(30):
            while True:
                assert self.proc.poll() is None, self.text()
                now = self.serving()
                if len(now) == count and not set(now.values()) & not_pids:
                    return now
                await asyncio.sleep(0.05)

    async def worker_of(self, client: LineClient) -> int:
        """Which worker accepted this client (its log line names the client's port)."""
        port = client.writer.get_extra_info("sockname")[1]
        pattern = re.compile(rf"worker (\d+): New connection from 127\.0\.0\.1:{port} ")
        async with asyncio.timeout(TIMEOUT):
            while not (found := pattern.search(self.text())):
                await asyncio.sleep(0.02)
        return int(found.group(1))

    async def health(self) -> dict[str, object]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.http)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        async with asyncio.timeout(TIMEOUT):
            answer = await reader.read()
        writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        found = orjson.loads(body)
        assert isinstance(found, dict)
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def sees_online(client: LineClient, name: str) -> None:
    """Until `name` is in the client's list of everyone online (shared presence). Not its
    `user_joined`: a notice from another process in the first moments of a room's NATS
    subscription may be lost (at-most-once; a stored message would be read back, a join
    notice is not stored), while presence is numbered and mended by snapshots."""
    async with asyncio.timeout(10):
        while True:
            await client.send({"type": "list_users"})
            listed = await client.until("list_users")
            if name in listed["users"]:
                return
            await asyncio.sleep(0.1)


async def one_on_each(server: Supervised, count: int = 2) -> dict[int, LineClient]:
    """A connected client on each worker (connections the kernel dealt elsewhere are closed)."""
    clients: dict[int, LineClient] = {}
    for _ in range(200):  # the kernel hashes each connection: two workers take one in 2
        client = await LineClient.connect(server.port)
        worker = await server.worker_of(client)
        if worker in clients:
            await client.close()
        else:
            clients[worker] = client
        if len(clients) == count:
            return clients
    raise AssertionError(f"200 connections all went to workers {sorted(clients)}")


def test_two_workers_share_the_port_restart_and_stop(shared: list[str], tmp_path: Path) -> None:
    server = Supervised(tmp_path, shared)

    async def scenario() -> None:
        workers = await server.until_serving(2)
        pids = set(workers.values())
        assert len(pids) == 2 and os.getpid() not in pids
        # Both accept on the one web port: /health says which process answered.
        answered: set[int] = set()
        for _ in range(200):
            answered.add(int(str((await server.health())["pid"])))
            if answered == pids:
                break
        assert answered == pids

        # Clients on the two workers, one room (general): the workers share the bus.
        on = await one_on_each(server)
        first, second = on[1], on[2]
        await first.join("alice")
        await second.join("bob")
        await sees_online(first, "bob")

        # A worker killed is started again; the other one serves meanwhile.
        os.kill(workers[2], signal.SIGKILL)
        again = await server.until_serving(2, not_pids=frozenset({workers[2]}))
        assert again[1] == workers[1] and again[2] != workers[2]
        assert f"worker 2 (pid {workers[2]}) was killed by SIGKILL" in server.text()
        assert await second.closed()
        await first.send({"type": "chat", "message": "still here"})
        assert (await first.until("chat"))["message"] == "still here"

        # SIGUSR1 (an admin changed accounts) reaches every worker; SIGHUP without TLS
        # reloads nothing and ends nobody.
        server.proc.send_signal(signal.SIGUSR1)
        server.proc.send_signal(signal.SIGHUP)
        async with asyncio.timeout(TIMEOUT):
            while not all(f"worker {n}: Accounts reloaded" in server.text() for n in (1, 2)):
                await asyncio.sleep(0.02)
        assert "no certificate to reload" in server.text()
        assert server.serving() == again and all(alive(pid) for pid in again.values())

        # SIGTERM: every worker says goodbye to its clients, and the supervisor exits.
        server.proc.send_signal(signal.SIGTERM)
        goodbye = await first.until("goodbye", timeout=10)
        assert "shutting down" in goodbye["message"]
        assert await first.closed()

    try:
        asyncio.run(scenario())
        assert server.proc.wait(timeout=30) == 0, server.text()
    finally:
        server.stop()
    log = server.text()
    assert "Supervisor: every worker has stopped" in log, log
    assert log.count("Server stopped") == 2, log
    assert not any(alive(pid) for pid in server.serving().values())


def test_clients_on_two_workers_chat_both_ways(shared: list[str], tmp_path: Path) -> None:
    server = Supervised(tmp_path, shared)

    async def scenario() -> None:
        await server.until_serving(2)
        on = await one_on_each(server)
        await on[1].join("alice")
        await on[2].join("bob")
        await sees_online(on[1], "bob")
        for speaker, hearer in ((on[1], on[2]), (on[2], on[1])):
            await speaker.send({"type": "chat", "message": "hello"})
            echo = await speaker.until("chat")
            assert await hearer.until("chat", timeout=10) == echo

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def test_sigint_stops_every_worker_too(shared: list[str], tmp_path: Path) -> None:
    """Ctrl-C in a terminal reaches the supervisor alone (workers are in their own session),
    which passes it on once: each worker shuts down gracefully, then the supervisor exits."""
    server = Supervised(tmp_path, [*shared, "--listen", f"{free_port()}=irc"])

    async def scenario() -> dict[int, int]:
        workers = await server.until_serving(2)
        server.proc.send_signal(signal.SIGINT)
        return workers

    try:
        workers = asyncio.run(scenario())
        assert server.proc.wait(timeout=30) == 0, server.text()
    finally:
        server.stop()
    log = server.text()
    assert log.count("Shutting down: Server shutting down") == 2, log
    assert "Supervisor: every worker has stopped" in log
    assert not any(alive(pid) for pid in workers.values())


def test_a_worker_that_cannot_start_stops_them_all(shared: list[str], tmp_path: Path) -> None:
    """The port is taken by a process without SO_REUSEPORT: the first start fails, the
    supervisor says so and exits 1 instead of starting it again for ever."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        flags = [*shared, "--listen", f"{port}=plain"]
        server = Supervised(tmp_path, flags)
        try:
            assert server.proc.wait(timeout=60) == 1
        finally:
            server.stop()
    log = server.text()
    assert "before it served" in log and "a worker could not start" in log, log


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        ([], "needs a store the workers share, and SQLite in"),
        (["--data", ":memory:"], "needs a store the workers share, and memory"),
        (["--store", "postgresql://nobody@127.0.0.1/none"], "needs a bus the workers share"),
        (
            ["--store", "postgresql://x@h/d", "--bus", "nats://h:4222", "--port", "0"],
            "give port a number",
        ),
    ],
)
def test_workers_are_refused_without_a_shared_store_bus_and_port(
    tmp_path: Path, flags: list[str], says: str
) -> None:
    args = ["--workers", "2", "--data", str(tmp_path / "data"), *flags]
    result = subprocess.run(
        [sys.executable, "-m", "chinwag", "serve", *args], capture_output=True, timeout=30
    )
    assert result.returncode == 2, result.stderr
    text = result.stderr.decode()
    assert says in text, text
    if "store" in says:  # it says what to do instead
        assert "--store postgresql://" in text and "--bus nats://" in text, text
    elif "bus" in says:
        assert "--bus nats://" in text, text
    assert not (tmp_path / "data").exists()  # refused before anything was made
