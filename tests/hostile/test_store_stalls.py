"""A slow, locked, full or read-only store must not stall or silence everyone (issue 10, 1 and 4).

Store reads and commits run in the store's threads: while one is held up, the event loop
answers everyone else. These tests hold a read or a commit up on purpose (a gate in the
reader thread, a write lock taken by another connection, a database that cannot grow) and
show that other clients' pings are answered meanwhile; none of them would finish if the
wait ran on the loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from chinwag.storage import sqlite_ops
from chinwag.storage.sqlite import SQLiteStore
from tests.helpers import LineClient, free_port, joined, running_server

FAST = {"message_rate": 0, "command_rate": 0, "history_on_join": 0}


async def pong(client: LineClient, token: str) -> None:
    await client.send({"type": "ping", "token": token})
    reply = await client.until("pong")
    assert reply["token"] == token


def test_a_search_held_up_in_the_store_does_not_stall_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    real_search = sqlite_ops.search

    def held(*args: Any) -> Any:  # runs in a reader thread: the loop must not wait for it
        assert gate.wait(10)
        return real_search(*args)

    monkeypatch.setattr(sqlite_ops, "search", held)

    async def scenario() -> None:
        async with running_server(tmp_path, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await alice.send({"type": "search", "room": "general", "query": "anything"})
            for i in range(3):
                await pong(bob, f"b{i}")  # answered while alice's search is held
            gate.set()
            found = await alice.until("search")
            assert found["messages"] == []

    try:
        asyncio.run(scenario())
    finally:
        gate.set()


def test_an_expensive_search_is_answered_with_an_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, query_budget=0.0, **FAST) as server:
            (alice,) = await joined(server.port, "alice")
            for i in range(300):
                await alice.send({"type": "chat", "message": f"apples and pears number {i}"})
            for _ in range(300):
                await alice.until("chat")
            await alice.send({"type": "search", "room": "general", "query": "apples pears"})
            error = await alice.until("error")
            assert error["code"] == "too_expensive"
            await pong(alice, "still here")

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "query, code",
    [
        (" ".join(["word"] * 17), "invalid_field"),  # over the word limit
        ("x" * 300, "invalid_field"),  # over the byte limit
        ("   ", "invalid_field"),
    ],
)
def test_search_size_limits(tmp_path: Path, query: str, code: str) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **FAST) as server:
            (alice,) = await joined(server.port, "alice")
            await alice.send({"type": "search", "room": "general", "query": query})
            assert (await alice.until("error"))["code"] == code

    asyncio.run(scenario())


def test_a_query_with_nul_gets_an_answer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, **FAST) as server:
            (alice,) = await joined(server.port, "alice")
            await alice.send({"type": "chat", "message": "hello world"})
            await alice.until("chat")
            await alice.send({"type": "search", "room": "general", "query": "hel\u0000lo world"})
            found = await alice.until("search")
            assert found["messages"] == []  # "hello" is not "hel lo": no match, no hang
            await alice.send({"type": "search", "room": "general", "query": "\u0000world"})
            assert [m["message"] for m in (await alice.until("search"))["messages"]] == [
                "hello world"
            ]

    asyncio.run(scenario())


def test_a_held_write_lock_delays_only_what_needs_the_store(tmp_path: Path) -> None:
    """Another process (a backup, an admin tool) holds SQLite's write lock: the commit waits
    for it in the writer thread. Whoever is owed the waiting message waits with it (each
    client's bytes keep their order); everyone else is served: pings, joins, presence."""

    async def scenario() -> None:
        async with running_server(tmp_path, store_grace=60, **FAST) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await alice.send({"type": "join_room", "room": "dev"})
            await alice.until("join_room")
            other = sqlite3.connect(tmp_path / "chinwag.sqlite3", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # the write lock
            try:
                await alice.send({"type": "chat", "room": "dev", "message": "waits for the lock"})
                for i in range(3):
                    await pong(bob, f"b{i}")
                carol = await LineClient.connect(server.port)
                await carol.join("carol")  # presence and joins go on too
                assert (await bob.until("user_joined"))["username"] == "carol"
            finally:
                other.execute("ROLLBACK")
                other.close()
            echo = await alice.until("chat")
            assert echo["message"] == "waits for the lock" and echo["room"] == "dev"

    asyncio.run(scenario())


def fill_the_disk(store: SQLiteStore) -> None:
    """The database may not grow: the next commit that needs a page fails, as on a full disk."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def free_the_disk(store: SQLiteStore) -> None:
    store.db.execute("PRAGMA max_page_count = 1073741823")


def test_a_full_disk_tells_the_sender_and_keeps_everyone_else_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chinwag.server import outbox

    monkeypatch.setattr(outbox, "PROBE_EVERY", 0.05)
    big = "x" * 60_000

    async def scenario() -> None:
        async with running_server(tmp_path, store_grace=0.3, **FAST) as server:
            store = server.store
            assert isinstance(store, SQLiteStore)
            alice, bob = await joined(server.port, "alice", "bob")
            fill_the_disk(store)
            await alice.send({"type": "chat", "message": big})
            await pong(bob, "during")  # bob is served while the commit fails and is retried
            error = await alice.until("error")  # after store_grace: given up, and told so
            assert error["code"] == "store_unavailable" and "1 of your messages" in error["message"]
            assert await bob.settle() == []  # the message reached nobody
            assert server.health()["store"] == "sick"
            await alice.send({"type": "chat", "message": "refused at once"})
            assert (await alice.until("error"))["code"] == "store_unavailable"
            await pong(alice, "alive")

            free_the_disk(store)
            async with asyncio.timeout(5):  # the probe finds the store working again
                while server.health()["store"] != "ok":
                    await asyncio.sleep(0.02)
            await alice.send({"type": "chat", "message": "stored again"})
            echo = await alice.until("chat")
            assert (await bob.until("chat")) == echo
            await alice.send({"type": "history", "room": "general"})
            page = await alice.until("history")
            assert [m["message"] for m in page["messages"]] == ["stored again"]

    asyncio.run(scenario())


def test_a_data_folder_that_cannot_be_written_is_refused_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    command = [sys.executable, "-m", "chinwag", "serve", "--port", str(free_port()),
               "--data", str(data)]  # fmt: skip
    if os.geteuid() != 0:
        data.chmod(0o555)
        result = subprocess.run(command, capture_output=True, timeout=30)
    else:  # root writes anywhere: make the folder read-only in a private mount namespace
        mount = f'mount --bind {data} {data} && mount -o remount,ro,bind {data} && exec "$@"'
        probe = subprocess.run(["unshare", "-m", "sh", "-c", mount, "sh", "true"], timeout=30)
        if probe.returncode != 0:
            pytest.skip("cannot make a read-only folder here (no mount namespaces)")
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", mount, "sh", *command], capture_output=True, timeout=30
        )
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.decode().splitlines() if " - ERROR - " in line]
    assert len(lines) == 1, result.stderr
    assert "cannot" in lines[0] and "readonly" in lines[0].replace("-", "").lower(), lines[0]
