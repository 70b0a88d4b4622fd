"""Moderation from the line client: the slash-command parser, and a scripted session that
kicks, mutes, sets modes, deletes and reads the audit log on a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chinwag.client.moderation import Usage, duration, parse
from chinwag.client.tokens import TokenStore
from chinwag.protocol import events as ev
from tests.client.test_line_accounts import PASSWORD, chat_session, ended, register
from tests.helpers import LineClient, running_server


@pytest.mark.parametrize(
    ("name", "rest", "command"),
    [
        ("kick", "bob", ev.Kick("dev", "bob")),
        ("kick", "bob flooding the room", ev.Kick("dev", "bob", "flooding the room")),
        ("kick", "#ops bob", ev.Kick("ops", "bob")),
        ("ban", "bob 10m spam", ev.Ban("bob", "dev", 600, "spam")),
        ("ban", "* bob", ev.Ban("bob", None)),
        ("ban", "bob spam", ev.Ban("bob", "dev", None, "spam")),
        ("unban", "* bob", ev.Unban("bob", None)),
        ("mute", "#ops bob 2h", ev.Mute("ops", "bob", 7200)),
        ("unmute", "bob", ev.Unmute("dev", "bob")),
        ("invite", "carol", ev.Invite("dev", "carol")),
        ("invite", "carol #ops", ev.Invite("ops", "carol")),
        ("op", "bob", ev.SetRole("bob", "operator", "dev")),
        ("devoice", "#ops bob", ev.SetRole("bob", "member", "ops")),
        ("mode", "+im -t", ev.RoomMode("dev", True, True, False)),
        ("mode", "#ops -i", ev.RoomMode("ops", False)),
        ("delete", "42", ev.DeleteMessage(42)),
        ("role", "bob Moderator", ev.SetRole("bob", "moderator")),
        ("announce", " back at 6 ", ev.Announce("back at 6")),
        ("audit", "", ev.Audit("dev")),
        ("audit", "*", ev.Audit(None)),
    ],
)
def test_typed_commands_become_the_commands_to_send(name: str, rest: str, command: object):
    assert parse(name, rest, "dev") == command


@pytest.mark.parametrize(
    ("name", "rest"),
    [("kick", ""), ("kick", "* bob"), ("mute", "* bob"), ("unmute", "* bob"), ("op", ""),
     ("mode", "+x"), ("mode", "i"), ("delete", "abc"), ("role", "bob"), ("announce", " "),
     ("invite", "a b c"), ("audit", "extra")],
)  # fmt: skip
def test_what_cannot_be_read_gets_its_usage(name: str, rest: str):
    assert isinstance(parse(name, rest, "dev"), Usage)


def test_durations():
    assert [duration(w) for w in ("90", "90s", "10m", "2H", "7d", "x", "1.5h")] == [
        90, 90, 600, 7200, 604800, None, None,
    ]  # fmt: skip


def test_a_room_owner_moderates_from_the_line_client(tmp_path: Path):
    async def scenario():
        async with running_server() as server:
            await register(server.port, "alice")
            bob = await LineClient.connect(server.port)
            await bob.join("bob")
            tokens = TokenStore(tmp_path / "config")
            with chat_session(server.port, "alice", tokens) as (terminal, task):
                await terminal.expect("Password for alice")
                terminal.type(PASSWORD)
                await terminal.expect("Signed in to the account alice.")
                terminal.type("/join dev")
                await terminal.expect("Now talking in #dev")
                await bob.send({"type": "join_room", "room": "dev"})
                await terminal.expect("bob joined #dev")
                await bob.send({"type": "chat", "room": "dev", "message": "spam spam"})
                said = await bob.until("chat", skip=frozenset({"join_room", "user_joined"}))
                await terminal.expect("bob: spam spam")
                terminal.type("/mute bob 10m calm down")
                await terminal.expect("*** bob was muted in dev by alice for 10 minutes: calm down")
                terminal.type(f"/delete {said['id']}")
                await terminal.expect(f"alice deleted message {said['id']} in #dev")
                terminal.type("/mode +t")
                await terminal.expect("alice set the modes of dev: topic locked")
                terminal.type("/kick bob bye")
                await terminal.expect("*** bob was kicked from dev by alice: bye")
                terminal.type("/audit")
                await terminal.expect("Moderation log of #dev (4)")
                await terminal.expect("alice kick bob in #dev (bye)")
                terminal.type("/ban")
                await terminal.expect("Usage: /ban [#ROOM|*] NAME [DURATION] [reason]")
                terminal.type("/help moderation")
                await terminal.expect("/kick [#ROOM] NAME [reason]")
                terminal.type("/quit")
                assert await ended(task) == 0
            kicked = [m for m in await bob.settle() if m.get("type") == "moderation"]
            assert [m["action"] for m in kicked][-1] == "kick"

    asyncio.run(scenario())
