"""Shutdown while everyone talks: no client gets a reset, each gets its goodbye after every
echo of what was stored (issue 10, item 7: 51 of 1,800 busy clients used to get a reset)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson

from tests.helpers import LineClient, free_port, wait_for_port

CLIENTS = 200
ROOMS = 20  # ten talkers a room: the clients run in this process too


class Talker:
    def __init__(self, number: int, client: LineClient) -> None:
        self.number = number
        self.client = client
        self.lines: list[bytes] = []
        self.reset = False
        self.sent = 0
        self.done = asyncio.Event()

    async def talk(self) -> None:
        writer = self.client.writer
        room = f"r{self.number % ROOMS}"
        try:
            while not self.done.is_set():
                text = f"c{self.number} m{self.sent}"
                writer.write(orjson.dumps({"type": "chat", "room": room, "message": text}) + b"\n")
                self.sent += 1
                await writer.drain()
                await asyncio.sleep(0.02)  # 10,000 messages a second in all
        except (ConnectionResetError, BrokenPipeError):
            self.reset = True
        except RuntimeError:  # written after our own close: the listener saw the end
            pass

    async def listen(self) -> None:
        reader = self.client.reader
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                self.lines.append(line)
        except (ConnectionResetError, BrokenPipeError):  # our write met the server's reset
            self.reset = True
        self.done.set()
        self.client.writer.close()

    def echoes(self) -> set[str]:
        mine = f"c{self.number} "
        found = set()
        for line in self.lines:
            obj = orjson.loads(line)
            if obj.get("type") == "chat" and obj["message"].startswith(mine):
                found.add(obj["message"])
        return found


def test_a_shutdown_under_load_resets_nobody_and_loses_no_echo(tmp_path: Path) -> None:
    """`chinwag serve` gets SIGTERM while 200 clients (in this process) keep talking."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", str(tmp_path),
         "--message-rate", "0", "--command-rate", "0", "--history-on-join", "0",
         "--log-level", "WARNING"],
        stderr=subprocess.PIPE,
    )  # fmt: skip

    async def scenario() -> list[Talker]:
        await wait_for_port(port, server)
        talkers = []
        for number in range(CLIENTS):
            client = await LineClient.connect(port)
            room = f"r{number % ROOMS}"
            await client.send({"type": "join", "username": f"c{number}", "rooms": [room]})
            talkers.append(Talker(number, client))
        tasks = [asyncio.create_task(t.listen()) for t in talkers]
        tasks += [asyncio.create_task(t.talk()) for t in talkers]
        async with asyncio.timeout(30):  # everyone is talking and being heard
            while min(len(t.lines) for t in talkers) < 30:
                await asyncio.sleep(0.02)  # 10,000 messages a second in all
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        return talkers

    try:
        talkers = asyncio.run(scenario())
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    resets = [t.number for t in talkers if t.reset]
    assert resets == []
    for talker in talkers:
        last = orjson.loads(talker.lines[-1])
        assert last == {"type": "goodbye", "message": "Server shutting down"}, talker.number
    db = sqlite3.connect(tmp_path / "chinwag.sqlite3")
    stored: dict[str, set[str]] = {}
    for username, body in db.execute("SELECT username, body FROM messages"):
        stored.setdefault(username, set()).add(body)
    db.close()
    for talker in talkers:
        mine = stored.get(f"c{talker.number}", set())
        assert mine == talker.echoes(), talker.number  # stored <=> echoed to its sender
