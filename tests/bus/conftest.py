"""Bus backends for the contract suite.

Each backend is a fixture named `<name>_network` that yields a `Network`: something that
makes buses ("nodes") which hear each other. Adding a broker (Redis, NATS; skipped through
`needs_service` where it is absent) means writing that fixture and adding its name to
BACKENDS; the tests in test_bus_contract.py then run against it unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest

from chinwag.bus.base import Bus
from chinwag.bus.local import InProcessBus, InProcessNetwork

BACKENDS = ["in_process"]


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


@pytest.fixture(params=BACKENDS)
def network(request: pytest.FixtureRequest) -> Network:
    found = request.getfixturevalue(f"{request.param}_network")
    assert isinstance(found, Network)
    return found
