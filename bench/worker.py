"""One generator process: its share of the clients, driven by the parent over a pipe.

The parent sends commands (dicts); the worker answers each with one dict. The event
loop keeps running between commands, so clients keep reading while the parent waits.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.client import BenchClient, IrcBenchClient, Tally
from bench.proc import own_cpu_seconds
from bench.wsclient import WsBenchClient

HOST = "127.0.0.1"
DRAIN_POLL = 0.02


@dataclass(frozen=True, slots=True)
class ClientSpec:
    name: str
    room: str  # "general" or a room to join
    sender_id: int  # -1 for a receiver


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    port: int
    clients: tuple[ClientSpec, ...]
    window: int  # unacknowledged messages per sender; 0 = fixed rate
    rate: float  # messages per second per sender (fixed-rate mode)
    concurrency: int = 256  # handshakes in flight
    websocket: bool = False  # clients speak WebSocket to the web port (scenario BW)
    dialect: str = "native"  # or "irc"
    server: str = "chinwag"  # or "ngircd", "inspircd" (IRC only: no #general of its own, no echo)


class Worker:
    def __init__(self, spec: WorkerSpec, pipe: Connection) -> None:
        self.spec = spec
        self.pipe = pipe
        self.loop = asyncio.get_running_loop()
        self.tally = Tally()
        self.clients: list[BenchClient] = []
        self.commands: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def run(self) -> None:
        self.loop.add_reader(self.pipe.fileno(), self._on_pipe)
        try:
            while True:
                command = await self.commands.get()
                kind = command["cmd"]
                if kind == "close":
                    self._close()
                    self.pipe.send({"closed": True})
                    return
                handler = getattr(self, f"_cmd_{kind}")
                self._reply(await handler(command))
        finally:
            self.loop.remove_reader(self.pipe.fileno())
            self._close()

    def _reply(self, answer: dict[str, Any]) -> None:
        """Send an answer whole: the loop's reader made the pipe non-blocking, and a wide
        latency histogram is more than the pipe's buffer (the parent is reading meanwhile)."""
        fd = self.pipe.fileno()
        blocking = os.get_blocking(fd)
        os.set_blocking(fd, True)
        try:
            self.pipe.send(answer)
        finally:
            os.set_blocking(fd, blocking)

    def _on_pipe(self) -> None:
        while self.pipe.poll():
            try:
                self.commands.put_nowait(self.pipe.recv())
            except EOFError:
                self.commands.put_nowait({"cmd": "close"})
                self.loop.remove_reader(self.pipe.fileno())
                return

    def _close(self) -> None:
        for client in self.clients:
            client.close()

    # ------------------------------------------------------------------ commands

    async def _cmd_connect(self, command: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        cpu = own_cpu_seconds()
        gate = asyncio.Semaphore(self.spec.concurrency)
        results = await asyncio.wait_for(
            asyncio.gather(
                *(self._connect(c, gate) for c in self.spec.clients), return_exceptions=True
            ),
            command.get("timeout", 120.0),
        )
        errors = [repr(r) for r in results if isinstance(r, BaseException)]
        return {
            "connected": len(self.clients),
            "failed": len(errors),
            "errors": errors[:3],
            "seconds": time.monotonic() - started,
            "cpu": own_cpu_seconds() - cpu,
        }

    async def _connect(self, spec: ClientSpec, gate: asyncio.Semaphore) -> None:
        async with gate:
            window = self.spec.window if spec.sender_id >= 0 else 0
            kind: type[BenchClient] = BenchClient
            if self.spec.websocket:
                kind = WsBenchClient
            elif self.spec.dialect == "irc":
                kind = IrcBenchClient
            _, client = await self.loop.create_connection(
                lambda: kind(self.tally, spec.room, spec.sender_id, window),
                HOST,
                self.spec.port,
            )
            if self.spec.dialect == "irc":
                await self._irc_join(client, spec)
                self.clients.append(client)
                return
            await client.request(
                b'{"type":"join","username":"%s"}\n' % spec.name.encode(), b'"type":"welcome"'
            )
            if spec.room != "general":
                line = b'{"type":"join_room","room":"%s"}\n' % spec.room.encode()
                await client.request(line, b'"type":"join_room"')
            self.clients.append(client)

    async def _irc_join(self, client: BenchClient, spec: ClientSpec) -> None:
        """Register (asking for echo-message: the senders' acknowledgement on chinwag) and
        be in #general and the client's room, as a native client is after its join."""
        nick = spec.name.encode()
        hello = b"CAP REQ :echo-message\r\nNICK %s\r\nUSER %s 0 * :b\r\nCAP END\r\n" % (nick, nick)
        if self.spec.server == "chinwag":  # #general comes with the welcome
            await client.request(hello, b" 366 ")
        else:
            await client.request(hello, b" 001 ")
            await client.request(b"JOIN #general\r\n", b" 366 ")
        if spec.room != "general":
            await client.request(b"JOIN #%s\r\n" % spec.room.encode(), b" 366 ")

    async def _cmd_counts(self, command: dict[str, Any]) -> dict[str, Any]:
        return {"chat": self.tally.chat, "joined": self.tally.joined, "cpu": own_cpu_seconds()}

    async def _cmd_send(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send from `start` for `duration` seconds (monotonic clock shared with the parent)."""
        start, duration = command["start"], command["duration"]
        senders = [c for c in self.clients if c.sender_id >= 0]
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        chat0, cpu0 = self.tally.chat, own_cpu_seconds()
        for client in senders:
            client.sending = True
        timers = [self._pace(c, start, duration) for c in senders if not c.window]
        for client in senders:
            if client.window:
                client.send(client.window)
        pacing = asyncio.gather(*timers)
        await asyncio.sleep(max(0.0, start + duration - time.monotonic()))
        for client in senders:
            client.sending = False
        chat1, cpu1 = self.tally.chat, own_cpu_seconds()
        await pacing
        sent: dict[str, int] = {}
        for client in senders:
            sent[client.room] = sent.get(client.room, 0) + client.sent
        return {"sent": sent, "window_chat": chat1 - chat0, "cpu": cpu1 - cpu0}

    async def _pace(self, client: BenchClient, start: float, duration: float) -> None:
        """Fixed rate: the k-th message leaves at start + k / rate (staggered per sender)."""
        period = 1.0 / self.spec.rate
        offset = (client.sender_id * 0.37 % 1.0) * period
        end = start + duration
        total = int(duration / period)
        due_count = 0
        while client.sending and not client.closed:
            now = time.monotonic()
            due = min(max(0, math.floor((now - start - offset) / period) + 1), total)
            if due > due_count:
                client.send(due - due_count)
                due_count = due
            wake = start + offset + due_count * period
            if wake >= end or due_count >= total:
                return
            await asyncio.sleep(max(0.0, wake - time.monotonic()))

    async def _cmd_drain(self, command: dict[str, Any]) -> dict[str, Any]:
        """Wait until `expected` chat deliveries have arrived (or the timeout)."""
        deadline = time.monotonic() + command["timeout"]
        while self.tally.chat < command["expected"] and time.monotonic() < deadline:
            await asyncio.sleep(DRAIN_POLL)
        return {"received": self.tally.chat, "latency": self.tally.latency}

    async def _cmd_history(self, command: dict[str, Any]) -> dict[str, Any]:
        """Time `count` history requests, one after the other, from the first client."""
        client = self.clients[0]
        line = b'{"type":"history","room":"%s","limit":%d}\n' % (
            command["room"].encode(),
            command["limit"],
        )
        seconds: list[float] = []
        size = 0
        for _ in range(command["count"]):
            began = time.perf_counter()
            reply = await client.request(line, b'"type":"history"')
            seconds.append(time.perf_counter() - began)
            size = len(reply)
        return {"seconds": seconds, "reply_bytes": size}


def worker_main(spec: WorkerSpec, pipe: Connection) -> None:
    """Process entry point (multiprocessing target)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(spec, pipe))


async def _serve(spec: WorkerSpec, pipe: Connection) -> None:
    await Worker(spec, pipe).run()
