# ruff: noqa: RUF001 (look-alike letters on purpose)
"""`chinwag user ...` (chinwag.admin) on real SQLite files, with the server running or not.

In-process tests run the commands in a thread beside a `running_server` on the same data
folder and then make the server read the accounts again, as its SIGUSR1 handler does (a
process never signals itself); one test runs both as processes, the signal included.
"""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chinwag import admin
from chinwag.cli import build_parser, main
from chinwag.config import load_config
from chinwag.engine.identity import Role
from chinwag.engine.names import user_key
from chinwag.server.app import ChatServer
from tests.helpers import TIMEOUT, LineClient, free_port, running_server, wait_for_port

PASSWORD = "correct horse"


def user(
    data: Path, *argv: str, stdin: str = "", typed: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """`chinwag user ARGV --data DATA` in this process: (status, stdout, stderr).

    `stdin` is what is piped in; `typed`, the answers to the password prompts."""
    args = build_parser().parse_args(["user", *argv, "--data", str(data)])
    config = load_config(
        environ={"CHINWAG_PASSWORD_PROFILE": "cheapest"}, overrides={"data": str(data)}
    )
    answers = iter(typed)
    out, err = io.StringIO(), io.StringIO()
    console = admin.Console(io.StringIO(stdin), out, err, ask_password=lambda _: next(answers))
    status = admin.run(args, config, console)
    return status, out.getvalue(), err.getvalue()


async def cli(data: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """The same, in a thread: it may wait for SQLite's lock, the server's loop must not."""
    return await asyncio.to_thread(user, data, *argv, stdin=stdin)


async def added(data: Path, name: str, *extra: str) -> None:
    status, _, err = await cli(data, "add", name, "--password-stdin", *extra, stdin=PASSWORD + "\n")
    assert status == 0, err


async def login(port: int, name: str, **proof: Any) -> tuple[LineClient, dict[str, Any]]:
    client = await LineClient.connect(port)
    await client.send({"type": "join", "username": name, **(proof or {"password": PASSWORD})})
    return client, await client.json()


def online_role(server: ChatServer, name: str) -> Role | None:
    session = server.engine.memberships.online.get(user_key(name))
    return None if session is None or session.identity is None else session.identity.role


# --------------------------------------------------------------------------- as processes


def test_first_admin_then_the_running_server_follows_every_change(tmp_path: Path):
    """Made before the server ever ran; then, while it runs: an account added logs in, and
    deleting it ends its session (SIGUSR1 for real, read from the data folder's lock file)."""
    env = {**os.environ, "CHINWAG_PASSWORD_PROFILE": "cheapest"}
    chinwag = [sys.executable, "-m", "chinwag"]

    async def run_cli(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [*chinwag, "user", *argv, "--data", str(tmp_path)],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )

    first = asyncio.run(
        run_cli("add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    )
    assert first.returncode == 0, first.stderr
    assert "Told the running server" not in first.stdout  # none runs
    port = free_port()
    server = subprocess.Popen(
        [*chinwag, "serve", "--port", str(port), "--data", str(tmp_path)],
        stderr=subprocess.PIPE,
        env=env,
    )

    async def scenario() -> None:
        await wait_for_port(port, server)
        root, welcome = await login(port, "root")
        assert welcome["type"] == "welcome" and welcome["account"] == "root", welcome
        made = await run_cli("add", "bob", "--password-stdin", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        assert f"Told the running server (pid {server.pid})" in made.stdout
        bob, welcome = await login(port, "bob")
        assert welcome["type"] == "welcome" and welcome["account"] == "bob", welcome
        gone = await run_cli("delete", "bob", "--yes")
        assert gone.returncode == 0, gone.stderr
        goodbye = await bob.until("goodbye")
        assert "deleted" in goodbye["message"]
        assert await bob.closed()
        _, answer = await login(port, "bob")
        assert answer["type"] == "error" and answer["code"] == "auth_failed", answer
        await root.send({"type": "chat", "message": "still here"})
        assert (await root.until("chat"))["message"] == "still here"

    try:
        asyncio.run(scenario())
        server.terminate()
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log = server.stderr.read().decode() if server.stderr else ""
    assert "Accounts reloaded" in log and "1 sessions signed out" in log, log
    assert PASSWORD not in log


# --------------------------------------------------------------------------- in process


def test_password_from_stdin_or_asked_twice_and_the_account_logs_in(tmp_path: Path):
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await added(tmp_path, "alice")
            status, out, err = await asyncio.to_thread(
                user, tmp_path, "add", "bob", "--role", "moderator", typed=(PASSWORD, PASSWORD)
            )
            assert (status, out, err) == (0, "Created the account bob (moderator).\n", "")
            # No reload yet (the signal may still be on its way): the store has the account.
            for name in ("alice", "bob"):
                client, welcome = await login(server.port, name)
                assert welcome["type"] == "welcome" and welcome["account"] == name, welcome
                await client.close()
            assert online_role(server, "bob") is Role.MODERATOR

    asyncio.run(scenario())
    status, _, err = user(tmp_path, "add", "carol", typed=(PASSWORD, PASSWORD + "!"))
    assert status == 2 and "differ" in err


def test_look_alike_names_are_refused_naming_the_account(tmp_path: Path):
    assert user(tmp_path, "add", "alice", "--password-stdin", stdin=PASSWORD)[0] == 0
    assert user(tmp_path, "add", "coe", "--password-stdin", stdin=PASSWORD)[0] == 0
    for name, existing in (("аlice", "alice"), ("ALICE", "alice"), ("сое", "coe")):
        status, out, err = user(tmp_path, "add", name, "--password-stdin", stdin=PASSWORD)
        assert status == 1 and out == "", err
        assert f"account {existing}" in err, err
    status, out, _ = user(tmp_path, "list")
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == [
        "NAME",
        "alice",
        "coe",
    ]


def test_list_shows_names_roles_and_live_tokens(tmp_path: Path):
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await added(tmp_path, "zed")
            await added(tmp_path, "Anna", "--role", "admin")
            client, _ = await login(server.port, "zed")
            status, out, err = await cli(tmp_path, "list")
            assert status == 0, err
            lines = [line.split() for line in out.splitlines()]
            assert lines[0] == ["NAME", "ROLE", "CREATED", "TOKENS"]
            assert [(row[0], row[1], row[-1]) for row in lines[1:]] == [
                ("Anna", "admin", "0"),
                ("zed", "member", "1"),
            ]
            assert lines[1][2:5][2] == "UTC"  # a date, a time, the zone
            status, out, _ = await cli(tmp_path, "tokens", "zed")
            assert status == 0 and out.startswith("zed has 1 live login token.\n  created ")
            await client.close()

    asyncio.run(scenario())


def test_a_new_role_reaches_the_connected_session(tmp_path: Path):
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await added(tmp_path, "bob")
            bob, _ = await login(server.port, "bob")
            assert online_role(server, "bob") is Role.MEMBER
            status, out, _ = await cli(tmp_path, "role", "BOB", "admin")
            assert (status, out) == (0, "bob is now admin (was member).\n")
            await server.reload_accounts()  # what SIGUSR1 runs
            assert online_role(server, "bob") is Role.ADMIN
            assert await bob.settle() == []  # still connected, told nothing
            status, out, _ = await cli(tmp_path, "role", "bob", "admin")
            assert (status, out) == (0, "bob is admin already.\n")

    asyncio.run(scenario())


def test_revoking_tokens_ends_sessions_and_the_token_no_longer_logs_in(tmp_path: Path):
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await added(tmp_path, "bob")
            bob, welcome = await login(server.port, "bob")
            token = welcome["token"]
            status, out, _ = await cli(tmp_path, "tokens", "bob", "--revoke")
            assert (status, out) == (0, "Revoked 1 login token of bob: its sessions end.\n")
            assert token not in out
            await server.reload_accounts()
            assert "signed out by an admin" in (await bob.until("goodbye"))["message"]
            assert await bob.closed()
            _, answer = await login(server.port, "bob", token=token)
            assert answer["type"] == "error" and answer["code"] == "auth_failed", answer
            _, welcome = await login(server.port, "bob")  # the password still works
            assert welcome["type"] == "welcome"
            assert (await cli(tmp_path, "tokens", "bob"))[1].startswith("bob has 1 live")

    asyncio.run(scenario())


def test_a_new_password_signs_the_account_out(tmp_path: Path):
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await added(tmp_path, "bob")
            bob, _ = await login(server.port, "bob")
            status, out, _ = await cli(
                tmp_path, "passwd", "bob", "--password-stdin", stdin="new password\n"
            )
            assert status == 0
            assert (
                out
                == "Changed the password of bob and revoked its 1 login token: its sessions end.\n"
            )
            await server.reload_accounts()
            await bob.until("goodbye")
            assert await bob.closed()
            _, answer = await login(server.port, "bob")
            assert answer["type"] == "error" and answer["code"] == "auth_failed", answer
            _, welcome = await login(server.port, "bob", password="new password")
            assert welcome["type"] == "welcome" and welcome["account"] == "bob"

    asyncio.run(scenario())


def test_deleting_asks_first(tmp_path: Path):
    assert user(tmp_path, "add", "bob", "--password-stdin", stdin=PASSWORD)[0] == 0
    status, out, err = user(tmp_path, "delete", "bob", stdin="n\n")
    assert (status, out) == (1, "") and "Delete the account bob" in err and "nothing deleted" in err
    status, out, _ = user(tmp_path, "delete", "bob", stdin="y\n")
    assert status == 0 and out.startswith("Deleted the account bob")
    assert user(tmp_path, "delete", "bob", "--yes")[0] == 1


@pytest.mark.parametrize(
    ("argv", "stdin", "status", "message"),
    [
        (["passwd", "nobody", "--password-stdin"], PASSWORD, 1, "no account is named nobody"),
        (["role", "nobody", "admin"], "", 1, "no account is named nobody"),
        (["tokens", "nobody"], "", 1, "no account is named nobody"),
        (["add", "two words", "--password-stdin"], PASSWORD, 2, "cannot be a username"),
        (["add", "bob", "--password-stdin"], "short\n", 2, "at least 8 characters"),
        (["add", "bob", "--password-stdin"], "", 2, "at least 8 characters"),
    ],
)
def test_failures_say_why(tmp_path: Path, argv: list[str], stdin: str, status: int, message: str):
    assert user(tmp_path, "add", "root", "--password-stdin", stdin=PASSWORD)[0] == 0
    got, out, err = user(tmp_path, *argv, stdin=stdin)
    assert (got, out) == (status, "") and message in err, err
    assert PASSWORD not in err and "short" not in err


def test_the_data_folder_comes_from_flags_environment_and_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("CHINWAG_PASSWORD_PROFILE", "cheapest")
    monkeypatch.setenv("CHINWAG_DATA", str(tmp_path / "from-env"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "alice", "--password-stdin"]) == 0
    assert (tmp_path / "from-env" / admin.DATABASE).exists()
    assert main(["user", "list", "--data", str(tmp_path / "nowhere")]) == 1
    assert "no chinwag data in" in capsys.readouterr().err
    monkeypatch.delenv("CHINWAG_DATA")  # it would win over the file
    settings = tmp_path / "chinwag.toml"
    settings.write_text('data = ":memory:"\n')
    assert main(["user", "list", "--config", str(settings)]) == 2
    assert "need a data folder" in capsys.readouterr().err
    settings.write_text("min_password = 'many'\n")
    assert main(["user", "list", "--config", str(settings)]) == 2
    assert "invalid value for min_password" in capsys.readouterr().err


def test_a_database_of_another_version_is_left_alone(tmp_path: Path):
    assert user(tmp_path, "add", "root", "--password-stdin", stdin=PASSWORD)[0] == 0
    with sqlite3.connect(tmp_path / admin.DATABASE) as db:
        db.execute("PRAGMA user_version = 4")
    status, _, err = user(tmp_path, "list")
    assert status == 1 and "start `chinwag serve` once" in err


def test_the_command_line_never_blocks_the_server(tmp_path: Path):
    """The server's writer gives way to the command line's write (tried, then a thread),
    and its loop goes on meanwhile: a ping answers while the command line holds SQLite's
    write lock; a chat sent meanwhile is echoed once the lock is free."""

    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await LineClient.connect(server.port)
            await alice.join("alice")  # a guest
            probe = await LineClient.connect(server.port)  # not in a room: owed nothing
            with admin.database(tmp_path) as db:
                db.execute("BEGIN IMMEDIATE")  # as a write of `chinwag user` does
                await alice.send({"type": "chat", "message": "during"})
                assert await probe.settle() == []  # the loop answers meanwhile
                db.execute("COMMIT")
            assert (await alice.until("chat"))["message"] == "during"
            for n in range(3):  # and real commands amid chat round-trips
                command = cli(tmp_path, "add", f"user{n}", "--password-stdin", stdin=PASSWORD)
                task = asyncio.ensure_future(command)
                await alice.send({"type": "chat", "message": f"chat {n}"})
                assert (await alice.until("chat"))["message"] == f"chat {n}"
                assert (await asyncio.wait_for(task, TIMEOUT))[0] == 0

    asyncio.run(scenario())


def test_a_postgres_store_that_does_not_answer_fails_without_its_password_or_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("CHINWAG_STORE", f"postgresql://chat:hunter2@127.0.0.1:{port}/chat")
    assert main(["user", "list", "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"cannot connect to postgresql://chat:***@127.0.0.1:{port}/chat" in err, err
    assert "hunter2" not in err
    assert not (tmp_path / admin.DATABASE).exists()
    assert main(["user", "list", "--store", "mysql://u@h/db", "--data", str(tmp_path)]) == 2
    assert "is not known" in capsys.readouterr().err
