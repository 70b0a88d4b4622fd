"""Accounts over real sockets: register, log in with a password or a token, log out, change
the password; guests and registered names; private history kept per account."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LineClient, running_server

PASSWORD = "correct horse battery"


async def registered(port: int, name: str, password: str = PASSWORD) -> tuple[LineClient, Any]:
    client = await LineClient.connect(port)
    await client.send({"type": "register", "username": name, "password": password})
    welcome = await client.until("welcome")
    return client, welcome


async def error_of(client: LineClient, command: dict[str, Any]) -> dict[str, Any]:
    await client.send(command)
    return await client.until("error")


def test_register_signs_in_and_gives_a_token_stored_only_hashed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice, welcome = await registered(server.port, "Alice")
            assert welcome["username"] == "Alice"
            assert welcome["account"] == "Alice"
            assert "guest" not in welcome
            assert welcome["accounts"] == ["Alice"]
            token = welcome["token"]
            assert len(token) >= 22  # 128 bits in URL-safe base64, at least
            await alice.send({"type": "chat", "message": "hello"})
            assert (await alice.until("chat"))["username"] == "Alice"
        db = sqlite3.connect(tmp_path / "chinwag.sqlite3")
        try:
            hashes = [row[0] for row in db.execute("SELECT hash FROM tokens")]
            (password_hash,) = db.execute("SELECT password_hash FROM accounts").fetchone()
        finally:
            db.close()
        assert len(hashes) == 1 and hashes[0] != token and len(hashes[0]) == 64
        assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash
        raw = (tmp_path / "chinwag.sqlite3").read_bytes()
        assert token.encode() not in raw and PASSWORD.encode() not in raw

    asyncio.run(scenario())


def test_wrong_password_and_unknown_account_get_the_same_answer_and_the_line_stays(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice, _ = await registered(server.port, "alice")
            await alice.close()
            client = await LineClient.connect(server.port)
            wrong = await error_of(
                client, {"type": "join", "username": "alice", "password": "not it at all"}
            )
            unknown = await error_of(
                client, {"type": "join", "username": "nobody", "password": "not it at all"}
            )
            assert wrong["code"] == unknown["code"] == "auth_failed"
            assert wrong["message"] == unknown["message"]
            welcome = await client.join("alice", password=PASSWORD)  # same connection
            assert welcome["account"] == "alice" and welcome["token"]

    asyncio.run(scenario())


def test_a_token_logs_in_again_after_a_restart_until_logout_revokes_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            _alice, welcome = await registered(server.port, "alice")
            token = welcome["token"]
        async with running_server(tmp_path) as server:
            again = await LineClient.connect(server.port)
            welcome = await again.join("alice", token=token)
            assert welcome["account"] == "alice"
            assert "token" not in welcome  # the client keeps the one it has
            await again.send({"type": "logout"})
            goodbye = await again.until("goodbye")
            assert "Logged out" in goodbye["message"]
            assert await again.closed()
            later = await LineClient.connect(server.port)
            refused = await error_of(later, {"type": "join", "username": "alice", "token": token})
            assert refused["code"] == "auth_failed"
            mismatch = await registered(server.port, "bob")
            bob_token = mismatch[1]["token"]
            await mismatch[0].close()
            refused = await error_of(
                later, {"type": "join", "username": "alice", "token": bob_token}
            )
            assert refused["code"] == "auth_failed"  # a token is for its own account only

    asyncio.run(scenario())


def test_a_password_change_revokes_the_other_tokens_and_the_old_password(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            first, welcome = await registered(server.port, "alice")
            old_token = welcome["token"]
            await first.send({"type": "quit"})
            await first.closed()
            second = await LineClient.connect(server.port)
            current = (await second.join("alice", password=PASSWORD))["token"]
            wrong = await error_of(
                second, {"type": "password", "old": "not the password", "new": "n3w password"}
            )
            assert wrong["code"] == "auth_failed"
            short = await error_of(second, {"type": "password", "old": PASSWORD, "new": "short"})
            assert short["code"] == "invalid_password"
            await second.send({"type": "password", "old": PASSWORD, "new": "n3w password"})
            done = await second.until("ok")
            assert done["command"] == "password"
            probe = await LineClient.connect(server.port)
            for credentials in ({"token": old_token}, {"password": PASSWORD}):
                refused = await error_of(
                    probe, {"type": "join", "username": "alice", **credentials}
                )
                assert refused["code"] == "auth_failed", credentials
            await second.send({"type": "quit"})
            await second.closed()
            assert (await probe.join("alice", token=current))["account"] == "alice"

    asyncio.run(scenario())


def test_a_guest_cannot_take_a_registered_name_or_one_that_looks_like_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice, _ = await registered(server.port, "alice")
            await alice.close()
            guest = await LineClient.connect(server.port)
            # Cyrillic a; full-width letters
            for name in ("alice", "ALICE", "\u0430lice", "\uff41\uff4c\uff49\uff43\uff45"):
                refused = await error_of(guest, {"type": "join", "username": name})
                assert refused["code"] == "name_registered", name
            welcome = await guest.join("mallory")
            assert welcome["guest"] is True and "account" not in welcome
            other = await LineClient.connect(server.port)
            taken = await error_of(other, {"type": "join", "username": "m\u0430llory"})
            assert taken["code"] == "name_taken"  # a look-alike of a name online
            refused = await error_of(guest, {"type": "nick", "username": "Alice"})
            assert refused["code"] == "name_registered"
            taken = await error_of(
                guest, {"type": "register", "username": "\u0430lice", "password": PASSWORD}
            )
            assert taken["code"] == "name_registered"

    asyncio.run(scenario())


def test_a_guest_who_logs_in_becomes_the_account_and_the_room_sees_a_rename(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice, _ = await registered(server.port, "alice")
            await alice.send({"type": "join_room", "room": "plans"})
            await alice.until("join_room")
            await alice.send({"type": "quit"})
            await alice.closed()
            watcher = await LineClient.connect(server.port)
            await watcher.join("watcher")
            guest = await LineClient.connect(server.port)
            assert (await guest.join("someone"))["guest"] is True
            await watcher.until("user_joined")
            welcome = await guest.join("alice", password=PASSWORD)
            assert welcome["account"] == "alice" and welcome["rooms"] == ["general", "plans"]
            assert welcome["accounts"] == ["alice"]
            assert (await guest.until("join_room"))["room"] == "plans"
            renamed = await watcher.until("nick")
            assert (renamed["old"], renamed["username"]) == ("someone", "alice")
            await guest.send({"type": "list_users"})
            users = await guest.until("list_users")
            assert users["users"] == ["alice", "watcher"] and users["accounts"] == ["alice"]
            again = await error_of(
                guest, {"type": "join", "username": "alice", "password": PASSWORD}
            )
            assert again["code"] == "already_joined"
            refused = await error_of(guest, {"type": "nick", "username": "other"})
            assert refused["code"] == "forbidden"  # an account keeps its name

    asyncio.run(scenario())


def test_a_guest_registers_its_own_name_in_place(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            guest = await LineClient.connect(server.port)
            await guest.join("zed")
            await guest.send({"type": "join_room", "room": "den"})
            await guest.until("join_room")
            await guest.send({"type": "register", "username": "zed", "password": PASSWORD})
            welcome = await guest.until("welcome")
            assert welcome["account"] == "zed" and welcome["rooms"] == ["general", "den"]
        async with running_server(tmp_path) as server:  # the account keeps the guest's room
            back = await LineClient.connect(server.port)
            welcome = await back.join("zed", token=welcome["token"])
            assert welcome["rooms"] == ["general", "den"]

    asyncio.run(scenario())


def test_logging_in_elsewhere_signs_the_older_session_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            first, _ = await registered(server.port, "alice")
            second = await LineClient.connect(server.port)
            await second.join("alice", password=PASSWORD)
            goodbye = await first.until("goodbye")
            assert "elsewhere" in goodbye["message"]
            assert await first.closed()
            await second.send({"type": "chat", "message": "still here"})
            assert (await second.until("chat"))["message"] == "still here"

    asyncio.run(scenario())


def test_guests_deny_and_registration_closed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, guests="deny") as server:
            client = await LineClient.connect(server.port)
            refused = await error_of(client, {"type": "join", "username": "anyone"})
            assert refused["code"] == "login_required"
            await client.send({"type": "register", "username": "anyone", "password": PASSWORD})
            assert (await client.until("welcome"))["account"] == "anyone"
        async with running_server(tmp_path, registration="closed") as server:
            client = await LineClient.connect(server.port)
            refused = await error_of(
                client, {"type": "register", "username": "newbie", "password": PASSWORD}
            )
            assert refused["code"] == "registration_closed"
            assert (await client.join("anyone", password=PASSWORD))["account"] == "anyone"

    asyncio.run(scenario())


def test_weak_passwords_and_bad_names_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            client = await LineClient.connect(server.port)
            short = await error_of(
                client, {"type": "register", "username": "alice", "password": "1234567"}
            )
            assert short["code"] == "invalid_password" and "8" in short["message"]
            bad = await error_of(
                client, {"type": "register", "username": "al\u202eice", "password": PASSWORD}
            )
            assert bad["code"] == "invalid_name"
            await client.send({"type": "register", "username": "Дмитрий", "password": PASSWORD})
            welcome = await client.until("welcome")
            assert welcome["account"] == "Дмитрий"

    asyncio.run(scenario())


def test_throttling_starts_at_the_sixth_failure_and_a_success_resets_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice, _ = await registered(server.port, "alice")
            await alice.close()
            client = await LineClient.connect(server.port)
            wrong = {"type": "join", "username": "alice", "password": "guess"}
            for _ in range(4):
                assert (await error_of(client, wrong))["code"] == "auth_failed"
            await client.join("alice", password=PASSWORD)  # a success resets the count
            await client.send({"type": "quit"})
            await client.closed()
            client = await LineClient.connect(server.port)
            for attempt in range(1, 6):
                assert (await error_of(client, wrong))["code"] == "auth_failed", attempt
            sixth = await error_of(client, wrong)
            assert sixth["code"] == "auth_throttled" and "try again in" in sixth["message"]
            right = await error_of(
                client, {"type": "join", "username": "alice", "password": PASSWORD}
            )
            assert right["code"] == "auth_throttled"  # not even the right one, for now

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "login" in r.msg]
    assert len(warnings) >= 5


def test_throttling_by_address_across_accounts(tmp_path: Path) -> None:
    """127.0.0.1 is exempt by default; with no exemptions, one address guessing at many
    accounts is throttled too."""

    async def scenario() -> None:
        async with running_server(tmp_path, limit_exempt=()) as server:
            client = await LineClient.connect(server.port)
            for number in range(5):
                guess = {"type": "join", "username": f"user{number}", "password": "guess"}
                assert (await error_of(client, guess))["code"] == "auth_failed"
            guess = {"type": "join", "username": "user9", "password": "guess"}
            assert (await error_of(client, guess))["code"] == "auth_throttled"

    asyncio.run(scenario())


def test_private_history_is_kept_per_account_and_replayed_only_to_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0) as server:
            alice, welcome = await registered(server.port, "alice")
            token = welcome["token"]
            bob, _ = await registered(server.port, "bob")
            await alice.until("user_joined")
            await bob.send({"type": "private", "target": "alice", "message": "secret plans"})
            said = await alice.until("private")
            await bob.until("private")
            await alice.send({"type": "history", "room": "general", "with": "Bob"})
            page = await alice.until("history")
            assert page["with"] == "Bob"
            assert [m["message"] for m in page["messages"]] == ["secret plans"]
            await alice.send({"type": "quit"})
            await alice.closed()

            guest = await LineClient.connect(server.port)
            await guest.join("carol", since=0)
            assert [m for m in await guest.settle() if m["type"] == "private"] == []
            refused = await error_of(guest, {"type": "history", "room": "x", "with": "bob"})
            assert refused["code"] == "forbidden"

            back = await LineClient.connect(server.port)
            await back.join("alice", token=token, since=0)
            replayed = [m for m in await back.settle() if m["type"] == "private"]
            assert [m["id"] for m in replayed] == [said["id"]]

    asyncio.run(scenario())


def test_no_password_or_token_reaches_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secrets_seen: list[str] = [PASSWORD, "n3w password", "wrong guess 1"]

    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice, welcome = await registered(server.port, "alice")
            secrets_seen.append(welcome["token"])
            probe = await LineClient.connect(server.port)
            await error_of(
                probe, {"type": "join", "username": "alice", "password": "wrong guess 1"}
            )
            await error_of(probe, {"type": "join", "username": "x", "token": "made-up-token"})
            await alice.send({"type": "password", "old": PASSWORD, "new": "n3w password"})
            await alice.until("ok")
            await alice.send({"type": "logout"})
            await alice.closed()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "signed in" in text or "registered" in text
    for secret in secrets_seen:
        assert secret not in text


def test_a_login_with_since_gets_the_missed_then_the_live_messages_once_in_order(
    tmp_path: Path,
) -> None:
    """The login awaits the store and the hasher while others chat: what they said meanwhile
    comes after the replay, each message once."""

    async def scenario() -> None:
        async with running_server(tmp_path, history_on_join=0, message_rate=0) as server:
            alice, welcome = await registered(server.port, "alice")
            await alice.send({"type": "quit"})
            await alice.closed()
            bob = await LineClient.connect(server.port)
            await bob.join("bob")
            for number in range(20):
                await bob.send({"type": "chat", "message": f"before {number}"})
            back = await LineClient.connect(server.port)
            await back.send(
                {"type": "join", "username": "alice", "token": welcome["token"]} | {"since": 0}
            )
            for number in range(20):
                await bob.send({"type": "chat", "message": f"during {number}"})
            await back.until("welcome")
            said: list[str] = []
            ids: list[int] = []
            while len(said) < 40:
                message = await back.until("chat")
                said.append(message["message"])
                ids.append(message["id"])
            assert ids == sorted(set(ids))
            assert said[:20] == [f"before {n}" for n in range(20)]
            assert said[20:] == [f"during {n}" for n in range(20)]

    asyncio.run(scenario())


def test_at_most_max_per_ip_connections_from_one_address(tmp_path: Path) -> None:
    """127.0.0.1 is exempt by default (local tools and benchmarks); 127.0.0.2 is not."""

    async def scenario() -> None:
        async with running_server(tmp_path, max_per_ip=3) as server:

            async def from_127_0_0_2() -> LineClient:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", server.port, local_addr=("127.0.0.2", 0)
                )
                return LineClient(reader, writer)

            three = [await from_127_0_0_2() for _ in range(3)]
            for number, client in enumerate(three):
                await client.join(f"user{number}")
            fourth = await from_127_0_0_2()
            refused = await fourth.json()
            assert refused["code"] == "too_many_connections"
            assert await fourth.closed()
            local = [await LineClient.connect(server.port) for _ in range(5)]  # exempt
            for number, client in enumerate(local):
                await client.join(f"local{number}")
            await three[0].send({"type": "quit"})
            await three[0].closed()
            for _ in range(50):  # a place came free (once the server has seen the close)
                again = await from_127_0_0_2()
                await again.send({"type": "join", "username": "user9"})
                answer = await again.json()
                if answer["type"] == "welcome":
                    break
                assert answer["code"] == "too_many_connections"
                await asyncio.sleep(0.02)
            assert answer["type"] == "welcome"

    asyncio.run(scenario())
