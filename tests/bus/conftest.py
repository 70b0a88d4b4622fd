"""Bus backends for the contract suite.

Each backend is a fixture named `<name>_network` that yields a `Network`: something that
makes buses ("nodes") which hear each other. Adding a broker (Redis, NATS; skipped through
`needs_service` where it is absent) means writing that fixture and adding its name to
BACKENDS; the tests in test_bus_contract.py then run against it unchanged.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest

from chinwag.bus.base import Bus
from chinwag.bus.local import InProcessBus, InProcessNetwork
from tests.helpers import needs_service

BACKENDS = ["in_process", "nats"]

NATS_URL = "nats://127.0.0.1:4222"


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def unique_prefix() -> str:
    """A subject prefix of its own, so parallel runs on one broker never hear each other."""
    return f"chinwag-test-{uuid.uuid4().hex[:12]}"


@dataclass
class Network:
    name: str
    node: Callable[[], Awaitable[Bus]]  # a new started bus on this network


@pytest.fixture
def in_process_network() -> Iterator[Network]:
    network = InProcessNetwork()

    async def node() -> Bus:
        bus = InProcessBus(network)
        await bus.start()
        return bus

    yield Network("in_process", node)


@pytest.fixture
def nats_network() -> Iterator[Network]:
    needs_service(listening(4222), "NATS is not listening on 127.0.0.1:4222")
    needs_service(_has("nats"), "nats-py is not installed (pip install -e '.[dev]')")
    from chinwag.bus.nats import NatsBus

    prefix = unique_prefix()

    async def node() -> Bus:
        bus = NatsBus(NATS_URL, prefix=prefix)
        await bus.start()
        return bus

    yield Network("nats", node)


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.fixture(params=BACKENDS)
def network(request: pytest.FixtureRequest) -> Network:
    found = request.getfixturevalue(f"{request.param}_network")
    assert isinstance(found, Network)
    return found
