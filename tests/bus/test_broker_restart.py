"""A NATS server of our own (127.0.0.1, a free port) stopped and started again under two
buses: they reconnect by themselves and carry everything published once they are back.

What is published while the broker is away may be lost (NATS core is at-most-once); the
store's ids are what turn that into a delay (docs/DEVELOPING.md, the bus).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from chinwag.bus.base import Bus, Envelope, ToRoom, ToUser
from chinwag.protocol import events as ev
from tests.helpers import TIMEOUT, free_port, needs_module, needs_service, wait_for_port

needs_module("nats", "nats-py is not installed (pip install -e '.[dev]')")
NATS_SERVER = shutil.which("nats-server")


class Broker:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        assert NATS_SERVER is not None
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # as a crash would: no goodbye to the clients
            self.proc.wait(timeout=10)


@pytest.fixture
def broker() -> Iterator[Broker]:
    needs_service(NATS_SERVER is not None, "nats-server is not installed")
    broker = Broker(free_port())
    yield broker
    broker.stop()


def say(text: str, audience: ToRoom | ToUser) -> Envelope:
    return Envelope(audience, ev.Goodbye(text))


async def delivering(a: Bus, got: list[str]) -> None:
    """Probe until b hears a (bounded: reconnects are 0.5 s apart)."""
    got.clear()
    async with asyncio.timeout(4 * TIMEOUT):
        probe = 0
        while not got:
            a.publish(say(f"probe{probe}", ToRoom("dev")))
            probe += 1
            await asyncio.sleep(0.05)


def test_buses_reconnect_after_a_broker_restart_and_deliver_again(broker: Broker):
    from chinwag.bus.nats import NatsBus

    async def scenario() -> None:
        await broker.start()
        url = f"nats://127.0.0.1:{broker.port}"
        a, b = NatsBus(url), NatsBus(url)
        await a.start()
        await b.start()
        got: list[str] = []
        a.attach(lambda e: None)
        b.attach(lambda e: got.append(e.notice.message))  # type: ignore[union-attr]
        b.subscribe(ToRoom("dev"))
        await b.ready()
        await delivering(a, got)  # a fresh nats-server may drop a first message (DEVELOPING)

        broker.stop()
        a.publish(say("while away", ToRoom("dev")))  # never raises, never blocks
        await asyncio.sleep(0.2)
        await broker.start()
        await delivering(a, got)  # back on their own: a's frames reach b again
        await a.ready()
        await b.ready()
        got.clear()
        for i in range(100):
            a.publish(say(f"m{i}", ToRoom("dev")))
        a.publish(say("end", ToRoom("dev")))
        async with asyncio.timeout(TIMEOUT):
            while "end" not in got:
                await asyncio.sleep(0.01)
        after = [text for text in got if not text.startswith("probe")]
        assert after == [f"m{i}" for i in range(100)] + ["end"]
        assert a.lost == 0  # what waited in the client's buffer was sent, not refused
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_a_bus_that_cannot_reach_its_broker_says_so_at_start():
    from chinwag.bus.nats import NatsBus
    from chinwag.errors import BusError

    async def scenario() -> None:
        with pytest.raises(BusError, match="cannot reach the bus"):
            await NatsBus(f"nats://127.0.0.1:{free_port()}", start_timeout=0.5).start()

    asyncio.run(scenario())
