"""Moderation over real sockets: roles, kick, ban, mute, room modes, invites, deletion,
announcements and the audit log, with guests, members, operators and admins."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from chinwag.engine.names import user_key
from chinwag.server.app import ChatServer
from chinwag.storage.base import AccountRecord
from tests.helpers import LineClient, running_server

PASSWORD = "correct horse battery"


async def account(server: ChatServer, name: str, role: str = "member") -> LineClient:
    """A client signed in to an account made for it (an admin would make it with the CLI)."""
    engine = server.engine
    assert engine.passwords is not None
    key = user_key(name)
    if key not in engine.registered:
        hashed = await engine.passwords.hash(PASSWORD)
        await engine.store.create_account(AccountRecord(key, name, hashed, role, 0.0))
        engine.registered.add(key)
    client = await LineClient.connect(server.port)
    await client.send({"type": "join", "username": name, "password": PASSWORD})
    await client.until("welcome")
    await client.settle()
    return client


async def guest(server: ChatServer, name: str) -> LineClient:
    client = await LineClient.connect(server.port)
    await client.join(name)
    await client.settle()
    return client


async def answer(client: LineClient, command: dict[str, Any], kind: str) -> dict[str, Any]:
    await client.send(command)
    return await client.until(kind)


async def refused(client: LineClient, command: dict[str, Any]) -> str:
    return str((await answer(client, command, "error"))["code"])


async def in_room(client: LineClient, room: str) -> dict[str, Any]:
    return await answer(client, {"type": "join_room", "room": room}, "join_room")


async def quiet(*clients: LineClient) -> None:
    for client in clients:
        await client.settle()


def test_the_creator_owns_the_room_and_kicks_with_a_reason_everyone_sees(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            bob = await guest(server, "bob")
            carol = await account(server, "carol")
            await in_room(alice, "dev")
            await in_room(bob, "dev")
            await in_room(carol, "dev")
            await quiet(alice, bob, carol)
            await alice.send({"type": "kick", "room": "dev", "username": "bob", "reason": "spam"})
            for client in (alice, bob, carol):
                notice = await client.until("moderation")
                assert (notice["action"], notice["username"], notice["by"]) == (
                    "kick",
                    "bob",
                    "alice",
                )
                assert notice["reason"] == "spam" and notice["room"] == "dev"
                assert notice["message"] == "bob was kicked from dev by alice: spam"
            assert await refused(bob, {"type": "chat", "room": "dev", "message": "hi"}) == (
                "not_in_room"
            )
            await carol.send({"type": "chat", "room": "dev", "message": "after"})
            assert (await carol.until("chat"))["message"] == "after"
            assert (await alice.until("chat"))["message"] == "after"
            assert [m["type"] for m in await bob.settle()] == []  # nothing after the kick

    asyncio.run(scenario())


def test_who_may_kick_whom(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            owner = await account(server, "owner")
            op = await account(server, "op")
            member = await account(server, "member")
            visitor = await guest(server, "visitor")
            await in_room(owner, "dev")
            for client in (op, member, visitor):
                await in_room(client, "dev")
            await quiet(owner, op, member, visitor)
            set_op = {"type": "set_role", "room": "dev", "username": "op", "role": "operator"}
            assert (await answer(owner, set_op, "moderation"))["role"] == "operator"
            await quiet(owner, op, member, visitor)
            kick = {"type": "kick", "room": "dev", "username": "member"}
            assert await refused(visitor, kick) == "forbidden"  # a guest
            assert await refused(member, {**kick, "username": "visitor"}) == "forbidden"
            assert await refused(op, {**kick, "username": "owner"}) == "forbidden"  # outranked
            assert await refused(op, {**kick, "username": "op"}) == "forbidden"  # yourself
            assert await refused(op, {**kick, "username": "nobody"}) == "unknown_user"
            assert await refused(op, {**kick, "room": "general"}) == "forbidden"
            assert await refused(op, {**kick, "room": "nowhere"}) == "forbidden"
            # An operator may give voice but not make operators: that is the owner's.
            make_op = {**set_op, "username": "member"}
            assert await refused(op, make_op) == "forbidden"
            voice = {**set_op, "username": "member", "role": "voice"}
            assert (await answer(op, voice, "moderation"))["role"] == "voice"
            joined = await in_room(await account(server, "late"), "dev")
            assert joined["operators"] == ["owner", "op"] and joined["voiced"] == ["member"]
            guest_role = {**set_op, "username": "visitor", "role": "voice"}
            await quiet(owner)
            assert await refused(owner, guest_role) == "forbidden"  # only accounts hold roles

    asyncio.run(scenario())


def test_a_room_ban_keeps_an_account_out_until_it_expires(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            bob = await account(server, "bob")
            await in_room(alice, "dev")
            await in_room(bob, "dev")
            await quiet(alice, bob)
            ban = {"type": "ban", "room": "dev", "username": "bob", "duration": 1}
            notice = await answer(alice, ban, "moderation")
            assert notice["action"] == "ban" and notice["until"] > notice["timestamp"]
            assert (await bob.until("moderation"))["action"] == "ban"
            assert await refused(bob, {"type": "join_room", "room": "dev"}) == "banned"
            await asyncio.sleep(1.1)
            assert (await in_room(bob, "dev"))["room"] == "dev"

    asyncio.run(scenario())


def test_a_guest_is_banned_by_name_on_a_shared_address_and_unbanned(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            await in_room(alice, "dev")
            rob = await guest(server, "rob")
            await in_room(rob, "dev")
            await quiet(alice, rob)
            await answer(alice, {"type": "ban", "room": "dev", "username": "rob"}, "moderation")
            assert (await rob.until("moderation"))["action"] == "ban"
            assert await refused(rob, {"type": "join_room", "room": "dev"}) == "banned"
            other = await guest(server, "other")  # same address (loopback): not banned
            assert (await in_room(other, "dev"))["room"] == "dev"
            await quiet(alice)
            unban = {"type": "unban", "room": "dev", "username": "rob"}
            assert (await answer(alice, unban, "moderation"))["action"] == "unban"
            assert (await rob.until("moderation"))["action"] == "unban"
            assert (await in_room(rob, "dev"))["room"] == "dev"
            assert await refused(alice, unban) == "unknown_user"  # not banned any more

    asyncio.run(scenario())


def test_a_guest_is_banned_by_address_where_the_address_is_its_own(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, limit_exempt=()) as server:
            alice = await account(server, "alice")
            await in_room(alice, "dev")
            rob = await guest(server, "rob")
            await quiet(alice)
            await answer(alice, {"type": "ban", "room": "dev", "username": "rob"}, "moderation")
            assert (await rob.until("moderation"))["action"] == "ban"
            renamed = await guest(server, "robert")  # another name, the same address
            assert await refused(renamed, {"type": "join_room", "room": "dev"}) == "banned"
            assert await refused(rob, {"type": "join_room", "room": "dev"}) == "banned"

    asyncio.run(scenario())


def test_a_server_ban_holds_across_a_restart_and_a_token_reconnect(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            admin = await account(server, "boss", "admin")
            bob = await LineClient.connect(server.port)
            await account(server, "bob")  # made; now sign in keeping the token
            await bob.send({"type": "join", "username": "bob", "password": PASSWORD})
            token = (await bob.until("welcome"))["token"]
            await quiet(admin, bob)
            member = await account(server, "member")
            assert await refused(member, {"type": "ban", "username": "bob"}) == "forbidden"
            notice = await answer(admin, {"type": "ban", "username": "bob", "reason": "abuse"},
                                  "moderation")  # fmt: skip
            assert notice["action"] == "ban" and "room" not in notice
            noise = frozenset({"moderation", "ping", "user_joined", "user_left"})
            goodbye = await bob.until("goodbye", skip=noise)
            assert "banned" in goodbye["message"]
            assert await bob.closed()
            again = await LineClient.connect(server.port)
            await again.send({"type": "join", "username": "bob", "token": token})
            assert (await again.until("error"))["code"] == "banned"
            assert await again.closed()
        async with running_server(tmp_path) as server:
            again = await LineClient.connect(server.port)
            await again.send({"type": "join", "username": "bob", "password": PASSWORD})
            error = await again.until("error")
            assert error["code"] == "banned" and "abuse" in error["message"]
            admin = await account(server, "boss")
            await answer(admin, {"type": "unban", "username": "bob"}, "moderation")
            back = await LineClient.connect(server.port)
            await back.send({"type": "join", "username": "bob", "password": PASSWORD})
            assert (await back.until("welcome"))["account"] == "bob"

    asyncio.run(scenario())


def test_a_mute_refuses_messages_until_lifted_or_expired(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            bob = await guest(server, "bob")
            await in_room(alice, "dev")
            await in_room(bob, "dev")
            await quiet(alice, bob)
            await answer(alice, {"type": "mute", "room": "dev", "username": "bob"}, "moderation")
            assert (await bob.until("moderation"))["action"] == "mute"
            say = {"type": "chat", "room": "dev", "message": "hi"}
            assert await refused(bob, say) == "muted"
            assert await refused(bob, {"type": "topic", "room": "dev", "topic": "x"}) == "muted"
            await bob.send({"type": "chat", "room": "general", "message": "elsewhere"})
            assert (await bob.until("chat"))["room"] == "general"  # only in dev
            await quiet(alice)
            unmute = {"type": "unmute", "room": "dev", "username": "bob"}
            await answer(alice, unmute, "moderation")
            await bob.until("moderation")
            await bob.send(say)
            assert (await bob.until("chat"))["message"] == "hi"
            await quiet(alice, bob)
            timed = {"type": "mute", "room": "dev", "username": "bob", "duration": 1}
            await answer(alice, timed, "moderation")
            await bob.until("moderation")
            assert await refused(bob, say) == "muted"
            await asyncio.sleep(1.1)
            await bob.send(say)
            assert (await bob.until("chat"))["message"] == "hi"

    asyncio.run(scenario())


def test_an_invite_only_room_refuses_the_uninvited_its_history_and_its_search(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            carol = await account(server, "carol")
            await in_room(alice, "secret")
            mode = {"type": "room_mode", "room": "secret", "invite_only": True}
            assert (await answer(alice, mode, "moderation"))["modes"] == ["invite_only"]
            await alice.send({"type": "chat", "room": "secret", "message": "plans"})
            await alice.until("chat")
            await quiet(carol)
            assert await refused(carol, {"type": "join_room", "room": "secret"}) == "invite_only"
            history = {"type": "history", "room": "secret"}
            assert await refused(carol, history) == "not_in_room"
            search = {"type": "search", "room": "secret", "query": "plans"}
            assert await refused(carol, search) == "not_in_room"
            users = {"type": "list_users", "room": "secret"}
            assert await refused(carol, users) == "invite_only"
            invite = {"type": "invite", "room": "secret", "username": "carol"}
            await answer(alice, invite, "moderation")
            assert (await carol.until("moderation"))["action"] == "invite"
            joined = await in_room(carol, "secret")
            assert joined["modes"] == ["invite_only"]
            await quiet(carol)  # the room's recent history, replayed on joining
            page = await answer(carol, history, "history")
            assert [m["message"] for m in page["messages"]] == ["plans"]

    asyncio.run(scenario())


def test_a_moderated_room_hears_only_voices_and_a_locked_topic_only_operators(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            bob = await account(server, "bob")
            await in_room(alice, "stage")
            await in_room(bob, "stage")
            await quiet(alice, bob)
            mode = {"type": "room_mode", "room": "stage", "moderated": True, "topic_locked": True}
            await answer(alice, mode, "moderation")
            await bob.until("moderation")
            say = {"type": "chat", "room": "stage", "message": "may I?"}
            assert await refused(bob, say) == "forbidden"
            assert await refused(bob, {"type": "topic", "room": "stage", "topic": "t"}) == (
                "forbidden"
            )
            voice = {"type": "set_role", "room": "stage", "username": "bob", "role": "voice"}
            await answer(alice, voice, "moderation")
            await bob.until("moderation")
            await bob.send(say)
            assert (await bob.until("chat"))["message"] == "may I?"
            assert await refused(bob, {"type": "topic", "room": "stage", "topic": "t"}) == (
                "forbidden"
            )
            await alice.send({"type": "topic", "room": "stage", "topic": "Q&A"})
            assert (await alice.until("topic", skip=frozenset({"chat"})))["topic"] == "Q&A"

    asyncio.run(scenario())


def test_a_deleted_message_is_gone_from_history_search_and_the_file(tmp_path: Path) -> None:
    secret = "zqxvbn-leaked-password-hunter2"

    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            bob = await account(server, "bob")
            carol = await guest(server, "carol")
            for client in (alice, bob, carol):
                await in_room(client, "dev")
            await quiet(alice, bob, carol)
            await bob.send({"type": "chat", "room": "dev", "message": f"oops {secret}"})
            said = await bob.until("chat")
            await bob.send({"type": "chat", "room": "dev", "message": "keep me"})
            kept = await bob.until("chat")
            await quiet(alice, carol)
            delete = {"type": "delete_message", "id": said["id"]}
            assert await refused(carol, delete) == "forbidden"  # a guest, not its sender
            assert await refused(alice, {"type": "delete_message", "id": 999}) == (
                "unknown_message"
            )
            await alice.send(delete)  # alice owns dev
            for client in (alice, bob, carol):
                notice = await client.until("deleted")
                assert (notice["id"], notice["room"], notice["by"]) == (said["id"], "dev", "alice")
            assert await refused(bob, delete) == "unknown_message"  # once
            page = await answer(carol, {"type": "history", "room": "dev"}, "history")
            by_id = {m["id"]: m for m in page["messages"]}
            assert by_id[said["id"]]["deleted"] is True and by_id[said["id"]]["message"] == ""
            assert by_id[kept["id"]]["message"] == "keep me"
            search = {"type": "search", "room": "dev", "query": secret}
            assert (await answer(carol, search, "search"))["messages"] == []
            # Its sender may delete its own.
            await bob.send({"type": "delete_message", "id": kept["id"]})
            assert (await bob.until("deleted"))["id"] == kept["id"]
            late = await account(server, "late")
            joined = await in_room(late, "dev")
            assert joined["room"] == "dev"
            replay = await late.settle()
            texts = [m.get("message") for m in replay if m.get("type") == "chat"]
            assert secret not in " ".join(t or "" for t in texts)
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("chinwag.sqlite3*") if p.is_file())
        assert secret.encode() not in raw
        assert b"zqxvbn" not in raw  # not even a word of it in the search index

    asyncio.run(scenario())


def test_admins_announce_to_everyone_and_staff_read_the_audit_log(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            admin = await account(server, "boss", "admin")
            alice = await account(server, "alice")
            bob = await guest(server, "bob")
            await quiet(admin)
            assert await refused(alice, {"type": "announce", "message": "hi"}) == "forbidden"
            await admin.send({"type": "announce", "message": "Maintenance at 6"})
            for client in (admin, alice, bob):
                notice = await client.until("announce", skip=frozenset({"user_joined"}))
                assert (notice["username"], notice["message"]) == ("boss", "Maintenance at 6")
            await in_room(alice, "dev")
            await in_room(bob, "dev")
            await quiet(alice)
            await answer(alice, {"type": "kick", "room": "dev", "username": "bob",
                                 "reason": "testing"}, "moderation")  # fmt: skip
            await quiet(bob)
            log = await answer(alice, {"type": "audit", "room": "dev"}, "audit")
            assert [
                (e["actor"], e["action"], e["target"], e["reason"]) for e in log["entries"]
            ] == [("alice", "kick", "bob", "testing")]
            assert await refused(bob, {"type": "audit", "room": "dev"}) == "forbidden"
            assert await refused(alice, {"type": "audit"}) == "forbidden"  # staff only
            everything = await answer(admin, {"type": "audit"}, "audit")
            assert [e["action"] for e in everything["entries"]] == ["announce", "kick"]
            promote = {"type": "set_role", "username": "alice", "role": "moderator"}
            assert await refused(alice, promote) == "forbidden"
            await answer(admin, promote, "moderation")
            assert (await alice.until("moderation"))["role"] == "moderator"
            assert (await answer(alice, {"type": "audit"}, "audit"))["entries"]
        db = sqlite3.connect(tmp_path / "chinwag.sqlite3")
        try:
            rows = db.execute(
                "SELECT actor, action, target, room FROM audit ORDER BY id"
            ).fetchall()
        finally:
            db.close()
        assert rows == [
            ("boss", "announce", "", ""),
            ("alice", "kick", "bob", "dev"),
            ("boss", "role", "alice", ""),
        ]

    asyncio.run(scenario())


def test_a_kick_during_a_burst_keeps_every_members_order_and_stops_the_kicked(
    tmp_path: Path,
) -> None:
    """500 members, a burst of chat, a kick in the middle of it."""
    members, burst = 500, 200

    async def scenario() -> None:
        async with running_server(
            tmp_path, message_rate=0, command_rate=0, history_on_join=0
        ) as server:
            owner = await account(server, "owner")
            await in_room(owner, "big")
            target = await guest(server, "target")
            await in_room(target, "big")
            crowd = []
            for n in range(members - 3):
                client = await LineClient.connect(server.port)
                await client.send({"type": "join", "username": f"m{n}", "rooms": ["big"]})
                crowd.append(client)
            talker = await guest(server, "talker")
            await in_room(talker, "big")
            everyone = [owner, target, talker, *crowd]

            async def drain(client: LineClient) -> list[dict[str, Any]]:
                return await client.settle(timeout=60)

            await asyncio.gather(*(drain(c) for c in everyone))

            kicking = asyncio.Event()

            async def talk() -> None:
                for i in range(burst):
                    await talker.send({"type": "chat", "room": "big", "message": f"n{i}"})
                    await asyncio.sleep(0.01)
                    if i == burst // 2:
                        await kicking.wait()  # the second half goes out while it lands

            async def kick_midway() -> list[dict[str, Any]]:
                """The owner kicks once it has heard half the burst."""
                heard: list[dict[str, Any]] = []
                async with asyncio.timeout(60):
                    while True:
                        heard.append(await owner.json(60))
                        if heard[-1].get("message") == f"n{burst // 2}":
                            kick = {"type": "kick", "room": "big", "username": "target"}
                            await owner.send(kick)
                            kicking.set()
                        if heard[-1].get("type") == "moderation":
                            return heard

            owners, _ = await asyncio.gather(kick_midway(), talk())
            seen = await asyncio.gather(*(drain(c) for c in everyone))
            seen[0] = owners + seen[0]
            kicked = [m for m in seen[1] if m.get("type") == "chat"]
            assert burst // 2 <= len(kicked) < burst  # the kick landed during the burst
            for client, got in zip(everyone, seen, strict=True):
                said = [int(m["message"][1:]) for m in got if m.get("type") == "chat"]
                if client is target:
                    kick = next(i for i, m in enumerate(got) if m.get("type") == "moderation")
                    after = [m for m in got[kick + 1 :] if m.get("type") == "chat"]
                    assert after == []
                    assert said == list(range(len(said)))  # in order, up to the kick
                else:
                    assert said == list(range(burst))
                    assert any(m.get("type") == "moderation" for m in got)

    asyncio.run(scenario())


async def plain_line_until(client: LineClient, part: bytes) -> bytes:
    async with asyncio.timeout(5):
        while True:
            line = await client.line()
            if part in line:
                return line


def test_netcat_users_are_told_and_moderate_with_slash_commands(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            admin = await account(server, "boss", "admin")
            nc = await LineClient.connect(server.port)
            await nc.send_line("hello from netcat")  # detected as plain: joins as Client N
            name = (await admin.until("user_joined"))["username"]
            assert name.startswith("Client ")
            await quiet(admin)
            await answer(admin, {"type": "mute", "room": "general", "username": name}, "moderation")
            line = await plain_line_until(nc, b"muted")
            assert line.startswith(b"*** ") and b"by boss" in line
            await nc.send_line("can I talk?")
            assert b"You are muted in general" in await plain_line_until(nc, b"Error")
            # A moderator at netcat: /login, then /kick and /ban.
            mod = await account(server, "mod", "moderator")
            await mod.send({"type": "quit"})
            await mod.closed()
            staff = await LineClient.connect(server.port)
            await staff.send_line(f"/login mod {PASSWORD}")
            await plain_line_until(staff, b"Logged in as mod")
            victim = await guest(server, "victim")
            await staff.send_line("/kick victim flooding")
            goodbye = await victim.until("goodbye", skip=frozenset({"moderation", "user_joined"}))
            assert goodbye["message"] == "Signed out: kicked by mod: flooding"
            assert await victim.closed()
            await staff.send_line(f"/ban {name} go away")
            assert b"banned" in await plain_line_until(nc, b"banned")
            assert await nc.closed()

    asyncio.run(scenario())


def test_a_server_ban_of_a_guest_keeps_its_address_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, limit_exempt=()) as server:
            admin = await account(server, "boss", "admin")
            nc = await LineClient.connect(server.port)
            await nc.send_line("hello")
            name = (await admin.until("user_joined"))["username"]
            friend = await guest(server, "friend")  # another guest from the same address
            await quiet(admin)
            await answer(admin, {"type": "ban", "username": name}, "moderation")
            assert await nc.closed()
            assert await friend.closed()
            assert await answer(admin, {"type": "ping"}, "pong")  # accounts stay
            again = await LineClient.connect(server.port)
            await again.send_line("back under another name?")
            assert b"banned from this server" in await plain_line_until(again, b"banned")
            assert await again.closed()

    asyncio.run(scenario())


def test_chinwag_audit_lists_the_log_from_the_command_line(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await account(server, "alice")
            bob = await guest(server, "bob")
            await in_room(alice, "dev")
            await in_room(bob, "dev")
            await quiet(alice)
            kick = {"type": "kick", "room": "dev", "username": "bob", "reason": "x\x1b[2Jy"}
            await answer(alice, kick, "moderation")
            mode = {"type": "room_mode", "room": "dev", "moderated": True}
            await answer(alice, mode, "moderation")

    asyncio.run(scenario())
    run = subprocess.run(
        [sys.executable, "-m", "chinwag", "audit", "--data", str(tmp_path), "--room", "#Dev"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = run.stdout.splitlines()
    assert len(lines) == 2, run.stdout
    assert "alice kick bob in dev (x\\x1b[2Jy)" in lines[0] and "\x1b" not in run.stdout
    assert "alice mode in dev (moderated)" in lines[1]
    audit = [sys.executable, "-m", "chinwag", "audit", "--data", str(tmp_path)]
    later = subprocess.run(
        [*audit, "--since", "2999-01-01"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert later.stdout.startswith("No moderation actions")


def test_staff_act_on_rooms_they_are_not_in_and_on_names_not_online(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, limit_exempt=()) as server:
            mod = await account(server, "mod", "moderator")
            bob = await guest(server, "bob")
            await in_room(bob, "dev")
            await quiet(mod, bob)
            # The moderator is not in dev: it still hears of what it did there.
            notice = await answer(mod, {"type": "mute", "room": "dev", "username": "bob"},
                                  "moderation")  # fmt: skip
            assert (notice["action"], notice["room"]) == ("mute", "dev")
            # A name nobody holds now is banned by name: a guest taking it later is kept out.
            await answer(mod, {"type": "ban", "room": "dev", "username": "ghost"}, "moderation")
            ghost = await guest(server, "ghost")
            assert await refused(ghost, {"type": "join_room", "room": "dev"}) == "banned"
            # A guest's invitation lasts its session: the next holder of the name has none.
            await answer(mod, {"type": "room_mode", "room": "dev", "invite_only": True},
                         "moderation")  # fmt: skip
            carl = await guest(server, "carl")
            await answer(mod, {"type": "invite", "room": "dev", "username": "carl"}, "moderation")
            await carl.until("moderation")
            await carl.send({"type": "quit"})
            await carl.closed()
            again = await guest(server, "carl")
            assert await refused(again, {"type": "join_room", "room": "dev"}) == "invite_only"

    asyncio.run(scenario())


def test_ended_bans_are_deleted_and_a_removed_room_forgets_its_bans(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            admin = await account(server, "boss", "admin")
            await answer(admin, {"type": "ban", "username": "bob", "duration": 1}, "moderation")
            visitor = await guest(server, "visitor")
            await in_room(visitor, "tmp")  # a guest's room: nobody keeps it
            await answer(admin, {"type": "ban", "room": "tmp", "username": "carl"}, "moderation")
            await quiet(visitor)  # it heard of the ban in tmp
            await visitor.send({"type": "leave_room", "room": "tmp"})
            await visitor.until("leave_room")
            carl = await guest(server, "carl")  # tmp was removed with its ban
            assert (await in_room(carl, "tmp"))["room"] == "tmp"
        await asyncio.sleep(1.1)
        async with running_server(tmp_path):
            pass  # loads the ended ban, deletes it
        db = sqlite3.connect(tmp_path / "chinwag.sqlite3")
        try:
            assert db.execute("SELECT kind, room_key, subject FROM sanctions").fetchall() == []
        finally:
            db.close()

    asyncio.run(scenario())
