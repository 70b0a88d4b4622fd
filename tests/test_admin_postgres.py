"""`chinwag user ...` and `chinwag audit` on a PostgreSQL store (chinwag.admin_postgres), as
processes, beside a `chinwag serve` on the same store: the first admin made before the
server ever ran logs in, the commands' changes reach new logins and connected sessions at
once (NOTIFY: no signal sent)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LineClient, free_port
from tests.postgres_support import PG_URL, fresh_schema, pg_run
from tests.server.test_moderation import answer, in_room

PASSWORD = "correct horse"
ENV = {**os.environ, "CHINWAG_PASSWORD_PROFILE": "cheapest"}  # the server's too
CHINWAG = [sys.executable, "-m", "chinwag"]


@pytest.fixture
def store_url() -> Iterator[str]:
    with fresh_schema() as schema:
        pg_run(f'CREATE SCHEMA "{schema}"')
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"


def chinwag(store: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`chinwag ARGV --store STORE` as a process (no data folder: none is needed)."""
    return subprocess.run(
        [*CHINWAG, *argv, "--store", store],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )


async def run(store: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The same, in a thread: the test's clients keep reading meanwhile."""
    return await asyncio.to_thread(chinwag, store, *argv, stdin=stdin)


async def login(port: int, name: str, password: str = PASSWORD) -> tuple[LineClient, Any]:
    client = await LineClient.connect(port)
    await client.send({"type": "join", "username": name, "password": password})
    return client, await client.json()


async def connect_when_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(30):
        while True:
            assert proc.poll() is None, "server exited early"
            try:
                client = await LineClient.connect(port)
            except OSError:
                await asyncio.sleep(0.05)
            else:
                await client.close()
                return


def test_the_user_commands_and_audit_manage_a_postgres_store_beside_its_server(
    store_url: str, tmp_path: Path
) -> None:
    nothing = chinwag(store_url, "user", "list")
    assert nothing.returncode == 1 and "no chinwag data" in nothing.stderr, nothing.stderr
    first = chinwag(
        store_url,
        "user",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert first.returncode == 0, first.stderr
    assert "Created the account root (admin)." in first.stdout
    assert "Told the servers on this database" in first.stdout  # NOTIFY
    look_alike = chinwag(store_url, "user", "add", "Rооt", "--password-stdin", stdin=PASSWORD)  # noqa: RUF001
    assert look_alike.returncode == 1 and "looks like the existing account root" in (
        look_alike.stderr
    )
    short = chinwag(store_url, "user", "add", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr

    port = free_port()
    server = subprocess.Popen(
        [
            *CHINWAG,
            "serve",
            "--port",
            str(port),
            "--store",
            store_url,
            "--data",
            str(tmp_path / "data"),
            "--http-port",
            "0",
        ],
        stderr=subprocess.DEVNULL,
        env=ENV,
    )

    async def scenario() -> None:
        await connect_when_up(port, server)
        root, welcome = await login(port, "root")
        assert welcome["type"] == "welcome" and welcome["account"] == "root", welcome
        await in_room(root, "ops")
        mode = {"type": "room_mode", "room": "ops", "invite_only": True}
        await answer(root, mode, "moderation")

        audit = await run(store_url, "audit", "--room", "#ops")
        assert audit.returncode == 0, audit.stderr
        assert "root mode in ops" in audit.stdout, audit.stdout
        listed = await run(store_url, "user", "list")
        assert listed.stdout.splitlines()[1].split()[:2] == ["root", "admin"]
        assert listed.stdout.splitlines()[1].split()[-1] == "1"  # root's login token
        tokens = await run(store_url, "user", "tokens", "root")
        assert "root has 1 live login token." in tokens.stdout, tokens.stdout

        made = await run(store_url, "user", "add", "bob", "--password-stdin", stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
        bob, welcome = await login(port, "bob")  # no signal needed for a new login
        assert welcome["type"] == "welcome" and welcome["account"] == "bob", welcome
        promoted = await run(store_url, "user", "role", "bob", "moderator")
        assert "bob is now moderator (was member)." in promoted.stdout, promoted.stderr
        listed = await run(store_url, "user", "list")
        assert listed.stdout.splitlines()[1].split()[:2] == ["bob", "moderator"]

        changed = await run(
            store_url, "user", "passwd", "root", "--password-stdin", stdin="a new password\n"
        )
        assert changed.returncode == 0, changed.stderr
        assert "revoked its 1 login token" in changed.stdout, changed.stdout
        _, refused = await login(port, "root")  # the old password, at once
        assert refused["type"] == "error" and refused["code"] == "auth_failed", refused
        assert (await root.until("goodbye"))["type"] == "goodbye"  # told by NOTIFY
        assert await root.closed()
        root, welcome = await login(port, "root", "a new password")
        assert welcome["type"] == "welcome", welcome

        kept = await run(store_url, "user", "delete", "bob", stdin="n\n")
        assert kept.returncode == 1 and "nothing deleted" in kept.stderr
        gone = await run(store_url, "user", "delete", "bob", "--yes")
        assert gone.returncode == 0 and "Deleted the account bob" in gone.stdout, gone.stderr
        assert "deleted" in (await bob.until("goodbye"))["message"]
        _, refused = await login(port, "bob")
        assert refused["type"] == "error" and refused["code"] == "auth_failed", refused
        revoked = await run(store_url, "user", "tokens", "root", "--revoke")
        assert "Revoked 1 login token of root" in revoked.stdout, revoked.stderr
        missing = await run(store_url, "user", "tokens", "bob")
        assert missing.returncode == 1 and "no account is named bob" in missing.stderr
        await root.close()

    try:
        asyncio.run(scenario())
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        if server.poll() is None:
            server.kill()
            server.wait(timeout=20)
    assert not (tmp_path / "data" / "chinwag.sqlite3").exists()  # nothing went to SQLite


def test_a_database_of_another_version_is_left_alone(store_url: str) -> None:
    assert (
        chinwag(store_url, "user", "add", "root", "--password-stdin", stdin=PASSWORD).returncode
        == 0
    )
    schema = store_url.rsplit("search_path=", 1)[1]
    pg_run(f'UPDATE "{schema}".schema_version SET version = version + 1')
    newer = chinwag(store_url, "user", "list")
    assert newer.returncode == 1 and "upgrade chinwag" in newer.stderr, newer.stderr
