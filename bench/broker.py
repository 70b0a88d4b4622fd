"""Redis pub/sub against NATS core, from asyncio: what a bus hop costs (issue 15).

    .venv/bin/python -m bench.broker [--messages 20000] [--rate 2000]

For each broker, two "nodes" (a publishing connection and a subscribing one) exchange
chat-sized frames (a native chat line plus the bus header, about 230 bytes), first both in
this process, then with the subscriber in a child process. Two figures each:

- latency: `--rate` frames a second for a second and a half; publish -> receive, from
  `time.monotonic_ns()` stamped in the frame (one clock for both processes on Linux);
- throughput: `--messages` frames published as fast as the publisher can; frames a second
  from the first publish to the last receive.

Publishing works as the bus does: frames are queued without awaiting and one writer task
sends what has queued (a Redis pipeline; NATS's own pending buffer, flushed by its task).
Only 127.0.0.1. One JSON line per measurement. The Redis half needs `pip install redis
hiredis` (not a dependency of chinwag: the bus is NATS, docs/DEVELOPING.md says why).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from chinwag.protocol import events as ev
from chinwag.protocol.native import encode_notice

REDIS = "redis://127.0.0.1:6379"
NATS = "nats://127.0.0.1:4222"
SUBJECT = "chinwag-bench.room.general"
Sink = Callable[[bytes], None]


def frame(i: int) -> bytes:
    """A frame the size of a bus envelope: a header with the send time, then a chat line."""
    chat = ev.ChatMessage(i, "general", "somebody", "x" * 100, time.time())
    header = b'{"a":"r","k":"general","i":%d,"o":"n0123456789abcdef","t":%d}\n' % (
        i,
        time.monotonic_ns(),
    )
    return header + encode_notice(chat)


def sent_at(data: bytes) -> int:
    start = data.index(b'"t":') + 4
    return int(data[start : data.index(b"}", start)])


# --------------------------------------------------------------------------- the brokers


class Publisher:
    async def connect(self) -> None: ...
    def publish(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...
    async def close(self) -> None: ...


class RedisPublisher(Publisher):
    async def connect(self) -> None:
        import redis.asyncio as redis

        self.client = redis.Redis.from_url(REDIS)
        self.queue: list[bytes] = []
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task = asyncio.create_task(self._writer())

    def publish(self, data: bytes) -> None:
        self.queue.append(data)
        self.idle.clear()
        self.wake.set()

    async def _writer(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            pipe = self.client.pipeline(transaction=False)
            for data in batch:
                pipe.publish(SUBJECT, data)
            await pipe.execute()
            if not self.queue:
                self.idle.set()

    async def drain(self) -> None:
        await self.idle.wait()

    async def close(self) -> None:
        self.task.cancel()
        await self.client.aclose()


class NatsPublisher(Publisher):
    async def connect(self) -> None:
        import nats

        self.client = await nats.connect(NATS)
        self.queue: list[bytes] = []
        self.wake = asyncio.Event()
        self.task = asyncio.create_task(self._writer())

    def publish(self, data: bytes) -> None:
        self.queue.append(data)
        self.wake.set()

    async def _writer(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            for data in batch:
                await self.client.publish(SUBJECT, data)

    async def drain(self) -> None:
        while self.queue:
            await asyncio.sleep(0.001)
        await self.client.flush()

    async def close(self) -> None:
        self.task.cancel()
        await self.client.close()


async def redis_subscribe(sink: Sink) -> Callable[[], Awaitable[None]]:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS)
    pubsub = client.pubsub()
    await pubsub.subscribe(SUBJECT)  # returns once Redis confirmed it
    while (await pubsub.get_message(timeout=1.0)) is None:
        pass  # the subscribe confirmation

    async def reader() -> None:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is not None and message["type"] == "message":
                sink(message["data"])

    task = asyncio.create_task(reader())

    async def stop() -> None:
        task.cancel()
        await pubsub.aclose()
        await client.aclose()

    return stop


async def nats_subscribe(sink: Sink) -> Callable[[], Awaitable[None]]:
    import nats

    client = await nats.connect(NATS)

    async def on_message(message: Any) -> None:
        sink(message.data)

    await client.subscribe(SUBJECT, cb=on_message)
    await client.flush()  # PING/PONG: the server has the subscription

    async def stop() -> None:
        await client.close()

    return stop


BROKERS: dict[str, tuple[type[Publisher], Callable[[Sink], Awaitable[Any]]]] = {
    "redis": (RedisPublisher, redis_subscribe),
    "nats": (NatsPublisher, nats_subscribe),
}


# --------------------------------------------------------------------------- the runs


class Collector:
    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.last = 0
        self.done = asyncio.Event()
        self.expect = 0

    def __call__(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.latencies.append(now - sent_at(data))
        self.last = now
        if len(self.latencies) >= self.expect:
            self.done.set()


def summary(latencies: list[int]) -> dict[str, float]:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # noqa: E731
    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": ordered[-1] / 1e6}


async def paced(publisher: Publisher, rate: int, seconds: float) -> int:
    """`rate` frames a second, sent on a schedule (a late loop sends what it owes)."""
    count = int(rate * seconds)
    start = time.monotonic()
    for i in range(count):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        publisher.publish(frame(i))
    return count


async def burst(publisher: Publisher, count: int) -> int:
    for i in range(count):
        publisher.publish(frame(i))
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the writer and the subscriber run
    return count


async def in_process(broker: str, messages: int, rate: int) -> list[dict[str, Any]]:
    make_publisher, subscribe = BROKERS[broker]
    results = []
    for kind in ("latency", "throughput"):
        collector = Collector()
        stop = await subscribe(collector)
        publisher = make_publisher()
        await publisher.connect()
        start = time.monotonic_ns()
        if kind == "latency":
            collector.expect = int(rate * 1.5)
            await paced(publisher, rate, 1.5)
        else:
            collector.expect = messages
            await burst(publisher, messages)
        await publisher.drain()
        sent = time.monotonic_ns()
        async with asyncio.timeout(60):
            await collector.done.wait()
        results.append(report(broker, "one process", kind, seen(collector), start, sent, rate))
        await publisher.close()
        await stop()
    return results


def report(
    broker: str, where: str, kind: str, seen: dict[str, Any], start: int, sent: int, rate: int
) -> dict[str, Any]:
    """`seen`: the subscriber's summary; `sent`: when the publisher had sent everything."""
    out: dict[str, Any] = {"broker": broker, "where": where, "kind": kind}
    out["received"] = seen["received"]
    if kind == "throughput":
        out["per_second"] = round(seen["received"] / ((seen["last"] - start) / 1e9))
        out["published_per_second"] = round(seen["received"] / ((sent - start) / 1e9))
    else:
        out["rate"] = rate
    out.update({k: seen[k] for k in ("p50_ms", "p99_ms", "max_ms")})
    return out


def seen(collector: Collector) -> dict[str, Any]:
    return {
        "received": len(collector.latencies),
        "last": collector.last,
        **summary(collector.latencies),
    }


async def subscriber_process(broker: str, expect: int) -> None:
    """The child: subscribe, say "ready", collect `expect` frames, print them as numbers."""
    collector = Collector()
    collector.expect = expect
    stop = await BROKERS[broker][1](collector)
    print("ready", flush=True)
    async with asyncio.timeout(120):
        await collector.done.wait()
    print(json.dumps(seen(collector)), flush=True)
    await stop()


async def two_processes(broker: str, messages: int, rate: int) -> list[dict[str, Any]]:
    make_publisher, _ = BROKERS[broker]
    results = []
    for kind in ("latency", "throughput"):
        expect = int(rate * 1.5) if kind == "latency" else messages
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.broker",
            "--child",
            broker,
            "--expect",
            str(expect),
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None
        async with asyncio.timeout(30):
            assert (await child.stdout.readline()).strip() == b"ready"
        publisher = make_publisher()
        await publisher.connect()
        start = time.monotonic_ns()
        if kind == "latency":
            await paced(publisher, rate, 1.5)
        else:
            await burst(publisher, messages)
        await publisher.drain()
        sent = time.monotonic_ns()
        async with asyncio.timeout(120):
            line = await child.stdout.readline()
            await child.wait()
        results.append(report(broker, "two processes", kind, json.loads(line), start, sent, rate))
        await publisher.close()
    return results


async def main_async(args: argparse.Namespace) -> None:
    if args.child:
        await subscriber_process(args.child, args.expect)
        return
    for broker in args.brokers.split(","):
        for row in await in_process(broker, args.messages, args.rate):
            print(json.dumps(row), flush=True)
        for row in await two_processes(broker, args.messages, args.rate):
            print(json.dumps(row), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.broker", description=__doc__)
    p.add_argument("--messages", type=int, default=20000, help="frames in the throughput run")
    p.add_argument("--rate", type=int, default=2000, help="frames a second in the latency run")
    p.add_argument("--brokers", default="redis,nats")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--expect", type=int, default=0, help=argparse.SUPPRESS)
    uvloop.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
