"""`chinwag serve --store postgresql://...` as a process, over sockets: clients join and chat,
page history and search; kill -9 right after a burst of echoes, and a restart has every
echoed message and hands out no id twice; an account registered in the first life logs in
in the second."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LineClient, free_port
from tests.postgres_support import PG_URL, fresh_schema, pg_run
from tests.server.test_durability import CLIENTS, EACH, connect_when_up, page_all, talk

PASSWORD = "correct horse battery"


@pytest.fixture
def store_url() -> Iterator[str]:
    """The test server's database, its tables in a schema of their own (search_path)."""
    with fresh_schema() as schema:
        pg_run(f'CREATE SCHEMA "{schema}"')
        joiner = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{joiner}search_path={schema}"


def start_server(port: int, store: str, data: Path, log: Path) -> subprocess.Popen[bytes]:
    args = ["--port", str(port), "--store", store, "--data", str(data), "--message-rate", "0",
            "--command-rate", "0", "--history-on-join", "5"]  # fmt: skip
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "chinwag", "serve", *args],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def test_chat_history_and_a_kill_9_with_the_postgres_store(store_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"  # TLS files and such would live here; history does not
    log = tmp_path / "server.log"
    procs: list[subprocess.Popen[bytes]] = []

    async def first_life() -> list[dict[str, Any]]:
        port = free_port()
        proc = start_server(port, store_url, data, log)
        procs.append(proc)
        clients = [await connect_when_up(port, proc) for _ in range(CLIENTS)]
        names = [f"user{n}" for n in range(CLIENTS)]
        for client, name in zip(clients, names, strict=True):
            await client.join(name)
            await client.send({"type": "join_room", "room": "dev"})
            await client.until("join_room")
        member = await connect_when_up(port, proc)
        await member.send({"type": "register", "username": "member", "password": PASSWORD})
        assert (await member.until("welcome"))["account"] == "member"
        await member.close()
        results = await asyncio.gather(*(talk(c, n) for c, n in zip(clients, names, strict=True)))
        proc.send_signal(signal.SIGKILL)  # right after the last echo arrived
        proc.wait(timeout=20)
        for client in clients:
            await client.close()
        return [echo for echoes in results for echo in echoes]

    async def second_life(echoed: list[dict[str, Any]]) -> None:
        port = free_port()
        proc = start_server(port, store_url, data, log)
        procs.append(proc)
        reader = await connect_when_up(port, proc)
        welcome = await reader.join("reader")
        top = max(e["id"] for e in echoed)
        assert welcome["last_id"] >= top
        replayed = [await reader.until("chat") for _ in range(5)]  # history on join
        await reader.send({"type": "join_room", "room": "dev"})
        await reader.until("join_room")
        replayed += [await reader.until("chat") for _ in range(5)]
        assert {(m["room"], m["history"]) for m in replayed} == {("general", True), ("dev", True)}
        stored: dict[int, dict[str, Any]] = {}
        for room in ("general", "dev"):
            for message in await page_all(reader, room):
                assert message["id"] not in stored
                stored[message["id"]] = message
        assert len(stored) == len(echoed)
        for echo in echoed:
            assert stored.get(echo["id"]) == {**echo, "history": True}, echo
        await reader.send({"type": "search", "room": "dev", "query": "user2 says 12"})
        found = await reader.until("search")
        assert [m["message"] for m in found["messages"]] == ["user2 says 12"]
        await reader.send({"type": "chat", "message": "after the crash"})
        fresh = await reader.until("chat")
        assert fresh["id"] > top  # never reused
        member = await LineClient.connect(port)
        await member.join("member", password=PASSWORD)  # the account was kept
        await member.close()
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
    assert not (data / "chinwag.sqlite3").exists()  # nothing went to SQLite


def test_moderation_is_kept_in_postgres_across_a_restart(store_url: str, tmp_path: Path) -> None:
    """A server ban, a room's roles and invite-only mode, a deleted message and the audit
    log, made through the protocol on one server, hold on the next one over the same
    database."""
    from tests.helpers import running_server
    from tests.server.test_moderation import account, answer, in_room, quiet, refused

    async def scenario() -> None:
        async with running_server(tmp_path, store=store_url) as server:
            boss = await account(server, "boss", "admin")
            alice = await account(server, "alice")
            bob = await account(server, "bob")
            await in_room(alice, "secret")  # alice made it: she owns it
            await quiet(boss, alice, bob)
            mode = {"type": "room_mode", "room": "secret", "invite_only": True}
            assert (await answer(alice, mode, "moderation"))["modes"] == ["invite_only"]
            await alice.send({"type": "chat", "room": "secret", "message": "oops zqxvbn"})
            said = await alice.until("chat")
            await alice.send({"type": "delete_message", "id": said["id"]})
            await alice.until("deleted")
            ban = {"type": "ban", "username": "bob", "reason": "abuse"}
            await answer(boss, ban, "moderation")
            await quiet(boss, alice)
        async with running_server(tmp_path, store=store_url) as server:
            again = await LineClient.connect(server.port)
            await again.send({"type": "join", "username": "bob", "password": PASSWORD})
            error = await again.until("error")
            assert error["code"] == "banned" and "abuse" in error["message"]
            carol = await account(server, "carol")
            assert await refused(carol, {"type": "join_room", "room": "secret"}) == "invite_only"
            alice = await account(server, "alice")
            joined = await in_room(alice, "secret")
            assert joined["modes"] == ["invite_only"]
            await quiet(alice)
            page = await answer(alice, {"type": "history", "room": "secret"}, "history")
            assert [(m["id"], m["message"], m["deleted"]) for m in page["messages"]] == [
                (said["id"], "", True)
            ]
            search = {"type": "search", "room": "secret", "query": "zqxvbn"}
            assert (await answer(alice, search, "search"))["messages"] == []
            invite = {"type": "invite", "room": "secret", "username": "carol"}
            await answer(alice, invite, "moderation")  # still her room: she may invite
            assert (await carol.until("moderation"))["action"] == "invite"
            boss = await account(server, "boss")
            log = await answer(boss, {"type": "audit"}, "audit")
            entries = [(e["actor"], e["action"], e.get("target", "")) for e in log["entries"]]
            assert entries[:3] == [("alice", "mode", ""), ("alice", "delete", "alice"),
                                   ("boss", "ban", "bob")]  # fmt: skip
            assert entries[3:] == [("alice", "invite", "carol")]
            assert len({e["id"] for e in log["entries"]}) == 4  # ids never reused
        assert not (tmp_path / "chinwag.sqlite3").exists()

    asyncio.run(scenario())


def test_chinwag_user_on_the_postgres_store_reaches_every_server(
    store_url: str, tmp_path: Path
) -> None:
    """`chinwag user --store URL` before any server ran (the first admin), then while two
    servers share the store: an account added logs in on both, and deleting it ends its
    sessions on both (NOTIFY, which every server LISTENs to)."""
    env = {**os.environ, "CHINWAG_PASSWORD_PROFILE": "cheapest"}

    async def user(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "chinwag", "user", *argv, "--store", store_url],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    procs: list[subprocess.Popen[bytes]] = []

    async def scenario() -> None:
        first = await user("add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
        assert first.returncode == 0, first.stderr
        ports = [free_port(), free_port()]
        for port in ports:
            procs.append(start_server(port, store_url, tmp_path / "data", tmp_path / "log"))
        roots = []
        for port, proc in zip(ports, procs, strict=True):
            root = await connect_when_up(port, proc)
            await root.send({"type": "join", "username": "root", "password": PASSWORD})
            assert (await root.until("welcome", timeout=30))["account"] == "root"
            roots.append(root)
        made = await user("add", "bob", "--password-stdin", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        assert "Told the servers on this database" in made.stdout
        bobs = []
        for port in ports:  # (argon2 runs at idle priority: a loaded machine's login is slow)
            bob = await LineClient.connect(port)
            await bob.send({"type": "join", "username": "bob", "password": PASSWORD})
            assert (await bob.until("welcome", timeout=30))["account"] == "bob"
            bobs.append(bob)
        listed = await user("list")
        assert listed.returncode == 0 and "bob" in listed.stdout, listed.stderr
        gone = await user("delete", "bob", "--yes")
        assert gone.returncode == 0, gone.stderr
        for bob in bobs:  # on both servers
            assert "deleted" in (await bob.until("goodbye", timeout=30))["message"]
            assert await bob.closed()
        for root in roots:
            await root.send({"type": "chat", "message": "still here"})
            assert (await root.until("chat"))["message"] == "still here"
            await root.close()

    try:
        asyncio.run(scenario())
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=20)
