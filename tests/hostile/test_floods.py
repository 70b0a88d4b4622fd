"""Command floods: a client over its command rate is read more slowly, not refused; far
ahead of its rate it is cut; everyone else is served meanwhile (the hostile bench found a
flood of pings stalling the whole server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chinwag.server import connection
from tests.helpers import joined, running_server


def test_commands_over_the_rate_wait_their_turn_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = {"command_rate": 200, "command_burst": 20}
        async with running_server(tmp_path, **settings) as server:
            flooder, other = await joined(server.port, "flooder", "other")
            burst = b"".join(b'{"type":"ping","token":%d}\n' % i for i in range(150))
            await flooder.send_raw(burst)
            await other.send({"type": "ping", "token": "me"})
            assert (await other.until("pong"))["token"] == "me"  # not behind the flood
            tokens = [(await flooder.until("pong"))["token"] for _ in range(150)]
            assert tokens == list(range(150))  # every one answered, in order, none refused

    asyncio.run(scenario())


def test_a_client_far_ahead_of_its_rate_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "MAX_BACKLOG", 100)

    async def scenario() -> None:
        settings = {"command_rate": 10, "command_burst": 10}
        async with running_server(tmp_path, **settings) as server:
            flooder, other = await joined(server.port, "flooder", "other")
            await flooder.send_raw(b'{"type":"ping"}\n' * 500)
            assert await flooder.closed()
            left = await other.until("user_left")
            assert left["username"] == "flooder"
            await other.send({"type": "ping", "token": "fine"})
            assert (await other.until("pong"))["token"] == "fine"

    asyncio.run(scenario())
