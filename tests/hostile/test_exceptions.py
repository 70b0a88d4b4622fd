"""Huge integers and failing handlers: an answer to that client and a log line, never a
traceback with no reply, never a half-made session (issue 10, item 6)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from chinwag.engine.memberships import Memberships
from tests.helpers import LineClient, joined, running_server

HUGE = 18446744073709551615  # 2**64 - 1


def test_integers_out_of_range_are_refused_by_the_codec(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            (alice,) = await joined(server.port, "alice")
            await alice.send({"type": "history", "room": "general", "after": HUGE})
            assert (await alice.until("error"))["code"] == "invalid_field"
            ghost = await LineClient.connect(server.port)
            await ghost.send({"type": "join", "username": "ghost", "since": HUGE})
            assert (await ghost.json())["code"] == "invalid_field"
            await alice.send({"type": "list_users"})
            assert (await alice.until("list_users"))["users"] == ["alice"]
            await ghost.join("ghost")  # the name was never held
            assert (await alice.until("user_joined"))["username"] == "ghost"

    asyncio.run(scenario())


def test_a_failing_handler_answers_internal_error_and_leaves_no_half_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_enter = Memberships.enter

    def enter(self: Memberships, session, room) -> None:
        if room.key == "boom":
            raise RuntimeError("a bug in the middle of a join")
        real_enter(self, session, room)

    monkeypatch.setattr(Memberships, "enter", enter)

    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            (alice,) = await joined(server.port, "alice")
            bob = await LineClient.connect(server.port)
            await bob.send({"type": "join", "username": "bob", "rooms": ["boom"]})
            error = await bob.json()
            assert error["type"] == "error" and error["code"] == "internal_error"
            await alice.send({"type": "list_users"})
            assert (await alice.until("list_users"))["users"] == ["alice"]
            assert await alice.settle() == []  # nobody was told of a join that did not happen
            await bob.send({"type": "chat", "message": "am I in?"})
            assert (await bob.json())["code"] == "not_joined"
            welcome = await bob.join("bob")  # the name is free: the join was undone
            assert welcome["rooms"] == ["general"]

    with caplog.at_level(logging.ERROR, logger="chinwag.engine"):
        asyncio.run(scenario())
    assert any("Join failed" in r.getMessage() and r.exc_info for r in caplog.records)
