"""kill -9 right after the echoes: every echoed message is still there after a restart."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import LineClient, free_port

CLIENTS = 4
EACH = 250  # messages a client sends, without waiting for echoes in between


def start_server(port: int, data: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chinwag",
                "serve",
                "--port",
                str(port),
                "--data",
                str(data),
                "--message-rate",
                "0",
                "--command-rate",
                "0",
                "--history-on-join",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


async def connect_when_up(port: int, proc: subprocess.Popen[bytes]) -> LineClient:
    async with asyncio.timeout(20):
        while True:
            assert proc.poll() is None, "server exited early"
            try:
                return await LineClient.connect(port)
            except OSError:
                await asyncio.sleep(0.05)


async def talk(client: LineClient, name: str) -> list[dict[str, Any]]:
    """Send EACH messages as fast as possible; return this client's own echoes."""
    for i in range(EACH):
        room = "dev" if i % 4 == 0 else "general"
        await client.send({"type": "chat", "room": room, "message": f"{name} says {i}"})
    echoes: list[dict[str, Any]] = []
    while len(echoes) < EACH:
        obj = await client.json(timeout=20)
        if obj["type"] == "chat" and obj["username"] == name:
            echoes.append(obj)
    return echoes


async def page_all(client: LineClient, room: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        await client.send({"type": "history", "room": room, "after": after, "limit": 500})
        page = await client.until("history", timeout=20)
        if not page["messages"]:
            return out
        out.extend(page["messages"])
        after = page["messages"][-1]["id"]


def test_everything_echoed_survives_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    procs: list[subprocess.Popen[bytes]] = []

    async def first_life() -> list[dict[str, Any]]:
        port = free_port()
        proc = start_server(port, data, log)
        procs.append(proc)
        clients = [await connect_when_up(port, proc) for _ in range(CLIENTS)]
        names = [f"user{n}" for n in range(CLIENTS)]
        for client, name in zip(clients, names, strict=True):
            await client.join(name)
            await client.send({"type": "join_room", "room": "dev"})
            await client.until("join_room")
        results = await asyncio.gather(*(talk(c, n) for c, n in zip(clients, names, strict=True)))
        proc.send_signal(signal.SIGKILL)  # right after the last echo arrived
        proc.wait(timeout=20)
        for client in clients:
            await client.close()
        return [echo for echoes in results for echo in echoes]

    async def second_life(echoed: list[dict[str, Any]]) -> None:
        port = free_port()
        proc = start_server(port, data, log)
        procs.append(proc)
        reader = await connect_when_up(port, proc)
        welcome = await reader.join("reader")
        top = max(e["id"] for e in echoed)
        assert welcome["last_id"] >= top
        await reader.send({"type": "join_room", "room": "dev"})
        await reader.until("join_room")
        stored: dict[int, dict[str, Any]] = {}
        for room in ("general", "dev"):
            for message in await page_all(reader, room):
                assert message["id"] not in stored
                stored[message["id"]] = message
        for echo in echoed:
            assert stored.get(echo["id"]) == {**echo, "history": True}, echo
        await reader.send({"type": "chat", "message": "after the crash"})
        fresh = await reader.until("chat")
        assert fresh["id"] > top  # never reused
        await reader.close()

    try:
        echoed = asyncio.run(first_life())
        assert len(echoed) == CLIENTS * EACH
        assert len({e["id"] for e in echoed}) == len(echoed)
        asyncio.run(second_life(echoed))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
