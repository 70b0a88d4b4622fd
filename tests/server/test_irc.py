"""The IRC gateway over real sockets: registration, every command and numeric, IRCv3,
and IRC users meeting native users in the same rooms (chat, private, moderation)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from datetime import datetime
from pathlib import Path

import trustme

from chinwag.config import CLASSIC_PORTS, ListenSpec
from tests.helpers import LineClient, running_server
from tests.irc_support import PASSWORD, IrcClient, commands, irc_user, make_account
from tests.tls_support import issue, tls_client, tls_settings, trusting

ISUPPORT = {"CHANTYPES", "NICKLEN", "CHANNELLEN", "TOPICLEN", "CASEMAPPING", "PREFIX", "CHANMODES"}


def test_registration_burst_on_the_main_port() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            irc = await IrcClient.connect(server.port)
            got = await irc.register("alice")
            assert commands(got) == [
                "001", "002", "003", "004", "005", "251", "255",
                "375", "372", "372", "376", "JOIN", "353", "366",
            ]  # fmt: skip
            assert got[0].params[0] == "alice" and got[0].source == "chinwag"
            tokens = {p.split("=")[0] for p in got[4].params[1:-1]}
            assert ISUPPORT | {"NETWORK"} <= tokens
            assert got[11].source == "alice!u@chinwag" and got[11].params == ("#general",)
            assert got[12].params[-1] == "alice"
            assert await irc.settle() == []

    asyncio.run(scenario())


def test_cap_negotiation_holds_registration_until_cap_end() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            irc = await IrcClient.connect(server.port)
            await irc.send("CAP LS 302", "NICK bob", "USER u 0 * :B")
            ls = await irc.until("CAP")
            assert ls.params[:2] == ("*", "LS")
            offered = ls.params[-1].split()
            assert {"server-time", "message-tags", "echo-message", "sasl=PLAIN"} <= set(offered)
            await irc.send("CAP REQ :server-time bogus")
            nak = await irc.until("CAP")
            assert nak.params[1:] == ("NAK", "server-time bogus")
            await irc.send("CAP REQ :server-time echo-message", "CAP LIST")
            assert (await irc.until("CAP")).params[1:] == ("ACK", "server-time echo-message")
            assert (await irc.until("CAP")).params[1:] == ("LIST", "server-time echo-message")
            assert await irc.settle() == []  # no 001 before CAP END
            await irc.send("CAP END")
            assert (await irc.until("001")).params[0] == "bob"

    asyncio.run(scenario())


def test_irc_only_port_and_classic_port_list() -> None:
    async def scenario() -> None:
        async with running_server(listen=[ListenSpec(0, "irc")]) as server:
            port = next(p for p, d in server.ports.items() if d == "irc")
            irc = await IrcClient.connect(port)
            await irc.register("carol")

    asyncio.run(scenario())
    assert (6667, "irc") in CLASSIC_PORTS


def test_errors_before_and_during_registration() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            native = await LineClient.connect(server.port)
            await native.join("taken")
            irc = await IrcClient.connect(server.port)
            await irc.send("NICK x", "JOIN #dev")
            assert (await irc.message()).command == "451"
            await irc.send("USER onlyone")
            assert (await irc.message()).params[1] == "USER"  # 461
            await irc.send("FOO bar")
            assert (await irc.message()).command == "451"  # unknown, unregistered
            await irc.send("NICK", "NICK taken", "USER u 0 * :U")
            assert (await irc.message()).command == "431"
            taken = await irc.message()
            assert (taken.command, taken.params[1]) == ("433", "taken")
            await irc.send("NICK bad!nick")
            bad = await irc.message()
            assert (bad.command, bad.params[1]) == ("432", "bad!nick")
            await irc.send("NICK fine")
            assert (await irc.until("001")).params[0] == "fine"
            while (await irc.message()).command != "366":
                pass
            await irc.send("USER u 0 * :U", "PASS x", "FOO", "PRIVMSG", "PRIVMSG #general")
            got = await irc.settle()
            assert commands(got) == ["462", "462", "421", "411", "412"]
            await irc.send("NICK taken")
            assert (await irc.message()).command == "433"
            await native.send({"type": "join_room", "room": "elsewhere"})
            await native.until("join_room")
            await irc.send("PRIVMSG nobody :hi", "JOIN nochannel", "PART #nothere")
            await irc.send("PART #elsewhere", "TOPIC #elsewhere :x")
            got = await irc.settle()
            assert [(m.command, m.params[1]) for m in got] == [
                ("401", "nobody"),
                ("403", "nochannel"),
                ("403", "#nothere"),
                ("442", "#elsewhere"),
                ("442", "#elsewhere"),
            ]
            await irc.send("JOIN #bad$room")
            assert (await irc.message()).command == "403"

    asyncio.run(scenario())


def test_long_lines_are_refused_with_417() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            irc = await irc_user(server, "ann")
            await irc.send("PRIVMSG #general :" + "x" * 600)
            assert (await irc.message()).command == "417"
            await irc.send("@" + "a" * 9000 + " PING x")
            assert (await irc.message()).command == "417"
            assert await irc.settle() == []

    asyncio.run(scenario())


def test_native_and_irc_talk_both_ways_in_general_and_in_private() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            native = await LineClient.connect(server.port)
            await native.join("nat")
            irc = await irc_user(server, "ric")
            assert (await native.until("user_joined"))["username"] == "ric"
            await irc.send("PRIVMSG #general :hello \x02there\x02 \x0304red")
            chat = await native.until("chat")
            assert (chat["username"], chat["room"], chat["message"]) == (
                "ric",
                "general",
                "hello there red",
            )
            assert await irc.settle() == []  # no echo without echo-message
            await native.send({"type": "chat", "message": "back \x1b[2J\x03at\x07 you"})
            await native.until("chat")
            msg = await irc.until("PRIVMSG")
            assert msg.source == "nat!u@chinwag"
            assert msg.params == ("#general", "back [2Jat you")
            await irc.send("PRIVMSG nat :psst")
            private = await native.until("private")
            assert (private["username"], private["target"], private["message"]) == (
                "ric",
                "nat",
                "psst",
            )
            await native.send({"type": "private", "target": "ric", "message": "yes?"})
            msg = await irc.until("PRIVMSG")
            assert (msg.source, msg.params) == ("nat!u@chinwag", ("ric", "yes?"))
            await native.until("private")
            await irc.send("NOTICE #general :a notice", "NOTICE nobody :x")
            assert (await native.until("chat"))["message"] == "a notice"
            assert await irc.settle() == []  # a NOTICE is never answered
            long = "word " * 400
            await native.send({"type": "chat", "message": long})
            parts = [(await irc.until("PRIVMSG")).params[1] for _ in range(5)]
            assert "".join(parts) == long.strip() or "".join(parts) == long
            await native.settle()

    asyncio.run(scenario())


def test_echo_message_server_time_and_message_tags() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            tagged = await irc_user(server, "tag", "echo-message", "server-time", "message-tags")
            plain = await irc_user(server, "plain")
            await tagged.send("PRIVMSG #general :hi")
            echo = await tagged.until("PRIVMSG")
            seen = await plain.until("PRIVMSG")
            assert echo.params == seen.params == ("#general", "hi")
            assert echo.tags["msgid"].isdigit() and echo.tags["time"].endswith("Z")
            assert seen.tags == {}  # plain asked for no tags
            await tagged.send("PRIVMSG plain :one to one")
            echo = await tagged.until("PRIVMSG")
            assert echo.params == ("plain", "one to one") and echo.source == "tag!u@chinwag"
            assert (await plain.until("PRIVMSG")).params == ("plain", "one to one")

    asyncio.run(scenario())


def test_channels_topic_names_list_who_whois_ison_userhost_away_and_ping() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            native = await LineClient.connect(server.port)
            await native.join("nat")
            irc = await irc_user(server, "ric")
            await native.settle()
            await irc.send("JOIN #dev")
            got = [await irc.message() for _ in range(3)]
            assert commands(got) == ["JOIN", "353", "366"]
            assert got[0].params == ("#dev",) and got[1].params[-1] == "ric"
            await native.send({"type": "join_room", "room": "dev"})
            await native.until("join_room")
            joined = await irc.until("JOIN")
            assert (joined.source, joined.params) == ("nat!u@chinwag", ("#dev",))
            await irc.send("TOPIC #dev :Talk about dev")
            topic = await native.until("topic")
            assert (topic["room"], topic["topic"], topic["username"]) == (
                "dev",
                "Talk about dev",
                "ric",
            )
            assert (await irc.until("TOPIC")).params == ("#dev", "Talk about dev")
            await irc.send("TOPIC #dev", "TOPIC #general", "TOPIC #nosuch")
            got = await irc.settle()
            assert [(m.command, m.params[1:]) for m in got] == [
                ("332", ("#dev", "Talk about dev")),
                ("333", ("#dev", "ric", got[1].params[3])),
                ("331", ("#general", "No topic is set")),
                ("403", ("#nosuch", "No such channel")),
            ]
            await irc.send("NAMES #dev", "LIST", "LIST #dev", "WHO #dev", "WHOIS nat")
            await irc.send(
                "WHOIS ghost", "ISON nat ghost ric", "USERHOST nat", "AWAY :gone", "AWAY"
            )
            got = await irc.settle()
            assert [(m.command, m.params[1:]) for m in got] == [
                ("353", ("=", "#dev", "ric nat")),
                ("366", ("#dev", "End of /NAMES list")),
                ("321", ("Channel", "Users  Name")),
                ("322", ("#dev", "2", "Talk about dev")),
                ("322", ("#general", "2", "")),
                ("323", ("End of /LIST",)),
                ("321", ("Channel", "Users  Name")),
                ("322", ("#dev", "2", "Talk about dev")),
                ("323", ("End of /LIST",)),
                ("352", ("#dev", "u", "chinwag", "chinwag", "nat", "H", "0 nat")),
                ("352", ("#dev", "u", "chinwag", "chinwag", "ric", "H", "0 ric")),
                ("315", ("#dev", "End of /WHO list")),
                ("311", ("nat", "u", "chinwag", "*", "nat")),
                ("312", ("nat", "chinwag", "chinwag")),
                ("318", ("nat", "End of /WHOIS list")),
                ("401", ("ghost", "No such nick/channel")),
                ("318", ("ghost", "End of /WHOIS list")),
                ("303", ("nat ric",)),
                ("302", ("nat=+u@chinwag",)),
                ("306", ("You have been marked as being away",)),
                ("305", ("You are no longer marked as being away",)),
            ]
            gone, back = await native.until("away"), await native.until("away")
            assert [(n["username"], n["message"]) for n in (gone, back)] == [
                ("ric", "gone"),
                ("ric", ""),
            ]
            await irc.send("LUSERS", "MOTD", "MODE ric", "MODE ric +i", "MODE nat")
            got = await irc.settle()
            assert commands(got) == ["251", "255", "375", "372", "372", "376", "221", "221", "502"]
            await irc.send("PART #dev")
            part = await irc.until("PART")
            assert (part.source, part.params) == ("ric!u@chinwag", ("#dev",))
            left = await native.until("user_left")
            assert (left["username"], left["room"]) == ("ric", "dev")
            await irc.send("PART #general")  # everyone stays in general: told, not parted
            assert (await irc.message()).command == "NOTICE"
            await irc.send("PING :are you there")
            pong = await irc.message()
            assert (pong.command, pong.params) == ("PONG", ("chinwag", "are you there"))
            await native.settle()

    asyncio.run(scenario())


def test_the_server_pings_and_a_pong_keeps_the_client() -> None:
    async def scenario() -> None:
        async with running_server(keepalive_interval=0.2, keepalive_timeout=1.0) as server:
            irc = await irc_user(server, "sleepy")
            ping = await irc.until("PING", skip=frozenset())
            await irc.send(f"PONG :{ping.params[0]}")
            ping = await irc.until("PING", skip=frozenset())
            assert ping.params

    asyncio.run(scenario())


def test_nick_changes_and_quit_reach_everyone() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            native = await LineClient.connect(server.port)
            await native.join("nat")
            irc = await irc_user(server, "ric")
            other = await irc_user(server, "oth")
            await native.settle()
            await irc.settle()
            await irc.send("NICK rick")
            renamed = await native.until("nick")
            assert (renamed["old"], renamed["username"]) == ("ric", "rick")
            for client in (irc, other):
                nick = await client.until("NICK", skip=frozenset({"JOIN"}))
                assert (nick.source, nick.params) == ("ric!u@chinwag", ("rick",))
            await native.send({"type": "nick", "username": "José"})
            nick = await irc.until("NICK", skip=frozenset())
            assert (nick.source, nick.params) == ("nat!u@chinwag", ("`Jos-dma",))
            await irc.send("PRIVMSG `Jos-dma :olá")
            private = await native.until("private")
            assert (private["target"], private["message"]) == ("José", "olá")
            await irc.send("NICK `Zrich-kva")  # Zürich, typed in its escaped form
            assert (await native.until("nick"))["username"] == "Zürich"
            await irc.send("QUIT :bye now")
            error = await irc.until("ERROR", skip=frozenset({"NICK"}))
            assert error.params[0].startswith("Closing link")
            assert await irc.closed()
            left = await native.until("user_left")
            assert left["username"] == "Zürich"
            quit_ = await other.until("QUIT", skip=frozenset({"NICK"}))
            assert quit_.source == "`Zrich-kva!u@chinwag"

    asyncio.run(scenario())


def test_sasl_plain_pass_and_their_failures(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await make_account(server, "acct")
            irc = await IrcClient.connect(server.port)
            got = await irc.register("whatever", sasl=("acct", PASSWORD))
            assert commands(got)[:5] == ["CAP", "CAP", "900", "903", "001"]
            assert got[2].params[2] == "acct" and got[4].params[0] == "acct"
            assert await irc.settle() == []  # the late CAP END changes nothing
            await irc.send("AUTHENTICATE PLAIN")
            assert (await irc.message()).command == "907"
            await irc.send("WHOIS acct")
            whois = await irc.settle()
            assert "330" in commands(whois)  # logged in as an account
            await irc.send("QUIT")
            await irc.closed()

            bad = await IrcClient.connect(server.port)
            await bad.send("CAP LS 302", "NICK acct", "USER u 0 * :U", "CAP REQ :sasl")
            await bad.until("CAP")
            await bad.until("CAP")
            await bad.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + _plain("acct", "wrong"))
            assert (await bad.message()).params == ("+",)
            assert (await bad.message()).command == "904"
            await bad.send("CAP END")  # as a guest, the account's name is not free
            assert (await bad.message()).command == "433"
            await bad.send("AUTHENTICATE SCRAM-SHA-256")
            assert commands([await bad.message(), await bad.message()]) == ["908", "904"]
            await bad.send("NICK guesty")
            assert (await bad.until("001")).params[0] == "guesty"

            by_pass = await IrcClient.connect(server.port)
            got = await by_pass.register("acct", password=PASSWORD)
            assert "900" in commands(got) and by_pass.nick == "acct"
            wrong = await IrcClient.connect(server.port)
            await wrong.send("PASS nope", "NICK acct", "USER u 0 * :U")
            assert (await wrong.message()).command == "464"

    asyncio.run(scenario())


def _plain(account: str, password: str) -> str:
    return base64.b64encode(f"\0{account}\0{password}".encode()).decode()


def test_chathistory_pages_in_a_batch() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            irc = await irc_user(server, "hist", "batch", "server-time", "draft/chathistory")
            native = await LineClient.connect(server.port)
            await native.join("nat")
            for n in range(5):
                await native.send({"type": "chat", "message": f"m{n}"})
                await native.until("chat")
            await irc.settle()
            await irc.send("CHATHISTORY LATEST #general * 3")
            start = await irc.message()
            assert (start.command, start.params[1:]) == ("BATCH", ("chathistory", "#general"))
            batch = start.params[0][1:]
            lines = [await irc.message() for _ in range(3)]
            assert [m.params[1] for m in lines] == ["m2", "m3", "m4"]
            assert all(m.tags["batch"] == batch and "time" in m.tags for m in lines)
            assert (await irc.message()).params == ("-" + batch,)
            await irc.send("CHATHISTORY BEFORE #general msgid=3 10")
            await irc.until("BATCH")
            older = [await irc.message() for _ in range(2)]
            assert [m.params[1] for m in older] == ["m0", "m1"]
            await irc.until("BATCH")
            await irc.send("CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00Z * 10")
            assert (await irc.message()).command == "FAIL"

    asyncio.run(scenario())


def test_moderation_from_irc_reaches_native_users(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await make_account(server, "boss")
            await make_account(server, "nat")  # roles are an account's
            boss = await irc_user(server, "x", sasl=("boss", PASSWORD))
            native = await LineClient.connect(server.port)
            await native.send({"type": "join", "username": "nat", "password": PASSWORD})
            await native.until("welcome")
            await boss.join("#ops")
            await native.send({"type": "join_room", "room": "ops"})
            await native.until("join_room")
            await boss.until("JOIN")
            await native.settle()
            await boss.send("MODE #ops")
            assert (await boss.message()).params[1:] == ("#ops", "+")
            await boss.send("MODE #ops +m")
            mode = await native.until("moderation")
            assert (mode["action"], mode["modes"]) == ("mode", ["moderated"])
            got = await boss.until("MODE")
            assert (got.source, got.params) == ("boss!u@chinwag", ("#ops", "+m-it"))
            await native.send({"type": "chat", "room": "ops", "message": "can I?"})
            assert (await native.until("error"))["code"] in ("forbidden", "muted")
            await boss.send("MODE #ops +v nat")
            role = await native.until("moderation")
            assert (role["action"], role["role"], role["username"]) == ("role", "voice", "nat")
            assert (await boss.until("MODE")).params == ("#ops", "+v", "nat")
            await native.send({"type": "chat", "room": "ops", "message": "now I can"})
            assert (await boss.until("PRIVMSG")).params == ("#ops", "now I can")
            await native.until("chat")
            await boss.send("KICK #ops nat :out")
            kick = await native.until("moderation")
            assert (kick["action"], kick["username"], kick["reason"]) == ("kick", "nat", "out")
            assert (await boss.until("KICK")).params == ("#ops", "nat", "out")
            await boss.send("MODE #ops +b nat!*@*")
            ban = await native.until("moderation")
            assert (ban["action"], ban["username"], ban["room"]) == ("ban", "nat", "ops")
            assert (await boss.until("MODE")).params == ("#ops", "+b", "nat!*@*")
            await native.send({"type": "join_room", "room": "ops"})
            assert (await native.until("error"))["code"] == "banned"
            await boss.send("MODE #ops -b nat", "MODE #ops -v nat", "MODE #ops +i")
            assert (await boss.until("MODE")).params == ("#ops", "-b", "nat!*@*")
            assert (await boss.until("MODE")).params == ("#ops", "-ov", "nat", "nat")
            assert (await boss.until("MODE")).params == ("#ops", "+im-t")
            await native.settle()
            await native.send({"type": "join_room", "room": "ops"})
            assert (await native.until("error"))["code"] == "invite_only"
            await boss.send("INVITE nat #ops")
            inviting = await boss.until("341")
            assert inviting.params[1:] == ("nat", "#ops")
            assert (await native.until("moderation"))["action"] == "invite"
            await native.send({"type": "join_room", "room": "ops"})
            assert (await native.until("join_room"))["room"] == "ops"

    asyncio.run(scenario())


def test_moderation_from_native_users_reaches_irc(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await make_account(server, "boss")
            boss = await LineClient.connect(server.port)
            await boss.send({"type": "join", "username": "boss", "password": PASSWORD})
            await boss.until("welcome")
            await boss.send({"type": "join_room", "room": "ops"})
            await boss.until("join_room")
            await make_account(server, "ric")
            irc = await irc_user(server, "ric", sasl=("ric", PASSWORD))
            await irc.join("#ops")
            await boss.settle()
            await irc.send("MODE #ops +i", "KICK #ops boss")
            assert [(m.command, m.params[1]) for m in await irc.settle()] == [
                ("482", "#ops"),
                ("482", "#ops"),
            ]
            await boss.send({"type": "set_role", "room": "ops", "username": "ric", "role": "voice"})
            assert (await irc.until("MODE")).params == ("#ops", "+v", "ric")
            await boss.send({"type": "room_mode", "room": "ops", "topic_locked": True})
            assert (await irc.until("MODE")).params == ("#ops", "+t-im")
            await irc.send("TOPIC #ops :mine")
            assert (await irc.message()).command == "482"
            await boss.send({"type": "kick", "room": "ops", "username": "ric", "reason": "bye"})
            kick = await irc.until("KICK")
            assert (kick.source, kick.params) == ("boss!u@chinwag", ("#ops", "ric", "bye"))
            await irc.send("PRIVMSG #ops :still here?", "MODE #ops")
            got = await irc.settle()
            assert [(m.command, m.params[1]) for m in got] == [("404", "#ops"), ("442", "#ops")]
            await boss.settle()

    asyncio.run(scenario())


def test_a_slow_irc_reader_does_not_stall_a_native_room() -> None:
    async def scenario() -> None:
        async with running_server(max_buffer=64 * 1024, message_rate=0) as server:
            stuck = await IrcClient.connect(server.port)
            await stuck.register("stuck")
            stuck.writer.transport.pause_reading()  # type: ignore[attr-defined]
            native = await LineClient.connect(server.port)
            await native.join("nat")
            other = await irc_user(server, "other")
            for n in range(300):
                await native.send({"type": "chat", "message": f"{n} " + "x" * 400})
            for n in range(300):
                msg = await other.until("PRIVMSG")
                assert msg.params[1].startswith(f"{n} ")
            await native.settle()

    asyncio.run(scenario())


def test_irc_is_detected_on_the_tls_port(tmp_path: Path) -> None:
    ca = trustme.CA()

    async def scenario() -> None:
        async with running_server(**tls_settings(*issue(ca, tmp_path))) as server:
            assert server.tls_port is not None
            line = await tls_client(server.tls_port, trusting(ca))
            irc = IrcClient(line.reader, line.writer)
            got = await irc.register("secure", ("server-time",))
            assert "001" in commands(got)
            native = await LineClient.connect(server.port)
            await native.join("nat")
            await native.send({"type": "chat", "message": "over tls?"})
            msg = await irc.until("PRIVMSG")
            assert msg.params == ("#general", "over tls?") and "time" in msg.tags

    asyncio.run(scenario())


def test_a_refused_sasl_sign_in_always_ends_in_904(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await make_account(server, "staff", role="admin")
            await make_account(server, "banned")
            admin = await LineClient.connect(server.port)
            await admin.send({"type": "join", "username": "staff", "password": PASSWORD})
            await admin.until("welcome")
            await admin.send({"type": "ban", "username": "banned", "reason": "no"})
            assert (await admin.until("moderation"))["action"] == "ban"
            irc = await IrcClient.connect(server.port)
            await irc.send("CAP LS 302", "NICK b", "USER u 0 * :U", "CAP REQ :sasl")
            await irc.until("CAP")
            await irc.until("CAP")
            await irc.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + _plain("banned", PASSWORD))
            assert (await irc.message()).params == ("+",)
            got = [await irc.message() for _ in range(3)]
            assert commands(got) == ["904", "465", "ERROR"]
            assert await irc.closed()

    asyncio.run(scenario())


def test_an_irc_flood_does_not_stall_a_native_client() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            native = await LineClient.connect(server.port)
            await native.join("nat")
            flooder = await irc_user(server, "flood")
            await native.settle()
            # Each line is many commands (one per mode letter, one per target).
            line = "MODE #general +imtovb-b a b c d\r\nJOIN #a,#b,#c,#d,#e,#f\r\n"
            flooder.writer.write(line.encode() * 1500)
            for _ in range(3):
                await native.settle()  # answered meanwhile
            await native.send({"type": "chat", "message": "still fine"})
            assert (await native.until("chat"))["message"] == "still fine"
            with contextlib.suppress(ConnectionError, EOFError, TimeoutError):
                await flooder.closed(timeout=10)

    asyncio.run(scenario())


def test_joins_in_a_big_room_reach_each_irc_client_with_its_own_tags() -> None:
    """Past 10 members, joins go through the presence log, shared per tag capabilities."""

    async def scenario() -> None:
        async with running_server() as server:
            clients = [
                await irc_user(server, f"u{i}", *(("server-time",) if i % 2 else ()))
                for i in range(14)
            ]
            late = await irc_user(server, "late")
            for i, client in enumerate(clients):
                seen = [m for m in await client.settle() if m.command == "JOIN"]
                joiners = [m.source.split("!")[0] for m in seen if m.source]
                assert joiners == [f"u{j}" for j in range(i + 1, 14)] + ["late"], (i, joiners)
                assert all(("time" in m.tags) == bool(i % 2) for m in seen)
            assert await late.settle() == []

    asyncio.run(scenario())


def test_a_run_of_room_messages_reaches_each_irc_client_as_its_caps_and_echo_say() -> None:
    """A burst to a room is one run: shared per capability set, the senders' echoes apart."""

    async def scenario() -> None:
        async with running_server() as server:
            caps = [
                (),
                ("server-time",),
                ("echo-message",),
                ("echo-message", "message-tags"),
                ("server-time", "message-tags"),
            ]
            clients = [await irc_user(server, f"c{i}", *c) for i, c in enumerate(caps)]
            watcher = await irc_user(server, "watcher")
            for client in clients:
                await client.settle()  # the others' joins
            # Three senders, a burst each: c0 has no echo-message, so its own lines must
            # not come back to it although c0 and c2 share a capability set for the rest.
            for i in (0, 2, 3):
                await clients[i].send(*(f"PRIVMSG #general :{i}-{n}" for n in range(3)))
                for _ in range(3):
                    await watcher.until("PRIVMSG")
            said = {i: [f"{i}-{n}" for n in range(3)] for i in (0, 2, 3)}
            for i, client in enumerate(clients):
                got = [m for m in await client.settle() if m.command == "PRIVMSG"]
                echo = "echo-message" in caps[i]
                want = [t for j, texts in said.items() if j != i or echo for t in texts]
                assert [m.params[1] for m in got] == want, i
                for m in got:
                    assert m.source == f"c{m.params[1][0]}!u@chinwag"
                    assert ("time" in m.tags) == ("server-time" in caps[i]), (i, m)
                    assert ("msgid" in m.tags) == ("message-tags" in caps[i]), (i, m)

    asyncio.run(scenario())


def test_topic_who_and_when_333_on_join_and_on_a_topic_query(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            alice = await irc_user(server, "alice")
            await alice.join("#dev")
            await alice.send("TOPIC #dev :Release 1.0")
            assert (await alice.until("TOPIC")).params == ("#dev", "Release 1.0")
            bob = await irc_user(server, "bob")
            got = await bob.join("#dev")
            assert commands(got) == ["JOIN", "332", "333", "353", "366"]
            whotime = got[2]
            assert whotime.params[1:3] == ("#dev", "alice")
            assert abs(int(whotime.params[3]) - time.time()) < 600
            assert commands(await bob.settle()) == ["TOPIC"]  # the recent history
            await bob.send("TOPIC #dev", "TOPIC #general")
            got = await bob.settle()
            assert commands(got) == ["332", "333", "331"]
            assert got[1].params == whotime.params
        # Kept across a restart: the store has who set it and when.
        async with running_server(tmp_path) as server:
            carol = await irc_user(server, "carol")
            got = await carol.join("#dev")
            assert commands(got) == ["JOIN", "332", "333", "353", "366"]
            assert got[2].params == ("carol", *whotime.params[1:])

    asyncio.run(scenario())


def test_account_tag_extended_join_and_account_notify(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            await make_account(server, "acct")
            await make_account(server, "later")
            caps = ("account-tag", "extended-join", "account-notify")
            watcher = await irc_user(server, "watcher", *caps)
            plain = await irc_user(server, "plain")
            # Its own JOIN under extended-join: a guest's account is `*`.
            own = await IrcClient.connect(server.port)
            got = await own.register("ext", ("extended-join",))
            join = next(m for m in got if m.command == "JOIN")
            assert join.params == ("#general", "*", "ext")
            signed = await IrcClient.connect(server.port)
            got = await signed.register("x", ("extended-join",), sasl=("acct", PASSWORD))
            join = next(m for m in got if m.command == "JOIN")
            assert (join.source, join.params) == ("acct!u@chinwag", ("#general", "acct", "acct"))
            await signed.settle()
            joins = [m for m in await watcher.settle() if m.command == "JOIN"]
            assert [(m.source, m.params) for m in joins] == [
                ("plain!u@chinwag", ("#general", "*", "plain")),
                ("ext!u@chinwag", ("#general", "*", "ext")),
                ("acct!u@chinwag", ("#general", "acct", "acct")),
            ]
            assert "account" in joins[2].tags and "account" not in joins[1].tags
            assert all(m.params == ("#general",) for m in await plain.settle())
            # account-tag: on messages from a signed-in sender, never on a guest's.
            await signed.send("PRIVMSG #general :from an account", "TOPIC #general :set")
            await own.send("PRIVMSG #general :from a guest")
            await signed.send("PRIVMSG watcher :psst")
            got = [m for m in await watcher.settle() if m.command in ("PRIVMSG", "TOPIC")]
            got += [m for m in await watcher.settle() if m.command in ("PRIVMSG", "TOPIC")]
            tagged = {m.params[1]: m.tags.get("account") for m in got}
            assert tagged == {
                "from an account": "acct",
                "set": "acct",
                "from a guest": None,
                "psst": "acct",
            }
            assert all(not m.tags for m in await plain.settle())
            # account-notify: a guest who signs in is renamed, then ACCOUNT.
            native = await LineClient.connect(server.port)
            await native.join("guestly")
            await native.settle()  # the recent history
            await watcher.settle()
            await plain.settle()
            await native.send({"type": "join", "username": "later", "password": PASSWORD})
            await native.until("welcome")
            got = await watcher.settle()
            assert [(m.command, m.source, m.params) for m in got] == [
                ("NICK", "guestly!u@chinwag", ("later",)),
                ("ACCOUNT", "later!u@chinwag", ("later",)),
            ]
            assert commands(await plain.settle()) == ["NICK"]

    asyncio.run(scenario())


def test_away_is_shared_301_whois_who_away_notify_and_native() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            alice = await irc_user(server, "alice", "away-notify")
            carol = await irc_user(server, "carol")
            bob = await irc_user(server, "bob")
            native = await LineClient.connect(server.port)
            await native.join("nat")
            await alice.join("#dev")
            for client in (alice, carol, bob):
                await client.settle()
            await bob.send("AWAY :out to lunch")
            assert commands(await bob.settle()) == ["306"]
            got = await alice.settle()
            assert [(m.command, m.source, m.params) for m in got] == [
                ("AWAY", "bob!u@chinwag", ("out to lunch",))
            ]
            assert await carol.settle() == []  # no away-notify: not told
            told = await native.until("away")
            assert (told["username"], told["message"]) == ("bob", "out to lunch")
            # A private message to an away user is answered 301; it still arrives.
            await alice.send("PRIVMSG bob :are you there?")
            got = await alice.settle()
            assert [(m.command, m.params) for m in got] == [
                ("301", ("alice", "bob", "out to lunch"))
            ]
            assert (await bob.until("PRIVMSG")).params == ("bob", "are you there?")
            await native.send({"type": "private", "target": "bob", "message": "hi"})
            echo = await native.until("private")
            assert echo["away"] == "out to lunch"
            await carol.send("WHOIS bob", "WHO #general", "USERHOST bob alice")
            got = await carol.settle()
            assert got[-1].params == ("carol", "bob=-u@chinwag alice=+u@chinwag")
            assert ("301", ("carol", "bob", "out to lunch")) in [(m.command, m.params) for m in got]
            flags = {m.params[5]: m.params[6] for m in got if m.command == "352"}
            assert flags == {"alice": "H", "bob": "G", "carol": "H", "nat": "H"}
            await native.send({"type": "list_users"})
            users = await native.until("list_users")
            assert users["away"] == [{"username": "bob", "message": "out to lunch"}]
            # Joining a channel while away: its away-notify members learn it after the JOIN.
            await bob.join("#dev")
            got = await alice.settle()
            assert [(m.command, m.source) for m in got] == [
                ("JOIN", "bob!u@chinwag"),
                ("AWAY", "bob!u@chinwag"),
            ]
            await bob.send("AWAY", "AWAY")  # back, then back again: nobody is told twice
            assert commands(await bob.settle()) == ["305", "305"]
            got = await alice.settle()
            assert [(m.command, m.params) for m in got] == [("AWAY", ())]
            assert (await native.until("away"))["message"] == ""
            await native.settle()
            await bob.send("AWAY :gone for good", "QUIT")
            await bob.closed()
            assert not server.engine.away  # nothing kept of a session that left

    asyncio.run(scenario())


def test_whowas_tells_the_latest_sign_outs_and_406_for_a_stranger() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            asker = await irc_user(server, "asker")
            for _ in range(2):  # bob signs in and out twice
                bob = await irc_user(server, "bob")
                await bob.send("QUIT :bye")
                await bob.closed()
            jose = await irc_user(server, "`Jos-dma")
            await jose.close()
            await asker.settle()
            await asker.send("WHOWAS bob", "WHOWAS bob 1", "WHOWAS `Jos-dma", "WHOWAS ghost")
            got = [(m.command, m.params[1:]) for m in await asker.settle()]
            signed_off = [p[2] for c, p in got if c == "312"]
            assert all(text.startswith("signed off 20") for text in signed_off)
            assert [(c, p[:2]) for c, p in got] == [
                ("314", ("bob", "u")),
                ("312", ("bob", "chinwag")),
                ("314", ("bob", "u")),
                ("312", ("bob", "chinwag")),
                ("369", ("bob", "End of WHOWAS")),
                ("314", ("bob", "u")),
                ("312", ("bob", "chinwag")),
                ("369", ("bob", "End of WHOWAS")),
                ("314", ("`Jos-dma", "u")),
                ("312", ("`Jos-dma", "chinwag")),
                ("369", ("`Jos-dma", "End of WHOWAS")),
                ("406", ("ghost", "There was no such nickname")),
                ("369", ("ghost", "End of WHOWAS")),
            ]
            assert got[8][1][-1] == "José"  # the realname is the chinwag name
            await asker.send("WHOWAS")
            assert commands(await asker.settle()) == ["461"]

    asyncio.run(scenario())


def test_whowas_remembers_a_bounded_number_of_sign_outs() -> None:
    from chinwag.engine.base import WHOWAS_KEPT

    async def scenario() -> None:
        async with running_server() as server:
            for n in range(3):
                client = await irc_user(server, f"u{n}")
                await client.send("QUIT")
                await client.closed()
            departed = server.engine.departed
            assert [gone.username for _, gone in departed] == ["u0", "u1", "u2"]
            assert departed.maxlen == WHOWAS_KEPT

    asyncio.run(scenario())


def test_chathistory_by_msgid_and_timestamp_latest_around_and_between() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            caps = ("batch", "server-time", "message-tags", "draft/chathistory", "echo-message")
            irc = await irc_user(server, "hist", *caps)
            ids: list[str] = []
            times: list[datetime] = []
            for n in range(10):
                await irc.send(f"PRIVMSG #general :m{n}")
                echo = await irc.until("PRIVMSG")
                ids.append(echo.tags["msgid"])
                times.append(datetime.fromisoformat(echo.tags["time"]))
                await asyncio.sleep(0.01)  # apart by more than the time tag's millisecond

            def mid(k: int) -> str:  # a time between message k and message k + 1
                when = times[k] + (times[k + 1] - times[k]) / 2
                return "timestamp=" + when.isoformat(timespec="milliseconds").replace("+00:00", "Z")

            async def ask(line: str) -> list[str]:
                await irc.send(line)
                got = await irc.settle()
                assert got[0].command == "BATCH" and got[-1].command == "BATCH", got
                name = got[0].params[0][1:]
                assert got[0].params[1:] == ("chathistory", "#general")
                assert got[-1].params == ("-" + name,)
                assert all(m.tags["batch"] == name for m in got[1:-1])
                return [m.params[1] for m in got[1:-1]]

            def m(*numbers: int) -> list[str]:
                return [f"m{n}" for n in numbers]

            i = ids
            assert await ask("CHATHISTORY LATEST #general * 3") == m(7, 8, 9)
            assert await ask(f"CHATHISTORY LATEST #general msgid={i[7]} 5") == m(8, 9)
            assert await ask(f"CHATHISTORY LATEST #general msgid={i[2]} 3") == m(7, 8, 9)
            assert await ask(f"CHATHISTORY BEFORE #general msgid={i[3]} 10") == m(0, 1, 2)
            assert await ask(f"CHATHISTORY AFTER #general msgid={i[6]} 2") == m(7, 8)
            assert await ask(f"CHATHISTORY AROUND #general msgid={i[5]} 4") == m(4, 5, 6, 7)
            between = f"CHATHISTORY BETWEEN #general msgid={i[2]} msgid={i[6]} 10"
            assert await ask(between) == m(3, 4, 5)
            between = f"CHATHISTORY BETWEEN #general msgid={i[6]} msgid={i[2]} 2"
            assert await ask(between) == m(4, 5)
            assert await ask(f"CHATHISTORY BEFORE #general {mid(3)} 2") == m(2, 3)
            assert await ask(f"CHATHISTORY AFTER #general {mid(3)} 2") == m(4, 5)
            assert await ask(f"CHATHISTORY LATEST #general {mid(7)} 10") == m(8, 9)
            assert await ask(f"CHATHISTORY AROUND #general {mid(4)} 2") == m(4, 5)
            between = f"CHATHISTORY BETWEEN #general {mid(1)} {mid(4)} 10"
            assert await ask(between) == m(2, 3, 4)
            between = f"CHATHISTORY BETWEEN #general {mid(8)} {mid(1)} 3"
            assert await ask(between) == m(6, 7, 8)
            for bad in (
                f"CHATHISTORY BETWEEN #general msgid={i[1]} {mid(4)} 10",  # two kinds
                "CHATHISTORY BEFORE #general timestamp=yesterday 10",
                "CHATHISTORY AROUND #general * 10",
                "CHATHISTORY AFTER #general msgid=x 10",
                "CHATHISTORY BETWEEN #general * *",
            ):
                await irc.send(bad)
                fail = await irc.message()
                assert fail.command == "FAIL" and fail.params[:2] == (
                    "CHATHISTORY",
                    "INVALID_PARAMS",
                )
            assert await irc.settle() == []
            # History of a channel one is not in: one FAIL per request, AROUND's two reads too.
            other = await irc_user(server, "other")
            await other.join("#elsewhere")
            await irc.settle()  # other's JOIN #general
            for line in ("LATEST #elsewhere * 5", f"AROUND #elsewhere msgid={i[5]} 4"):
                await irc.send("CHATHISTORY " + line)
                got = await irc.settle()
                assert [(m.command, m.params[:3]) for m in got] == [
                    ("FAIL", ("CHATHISTORY", "INVALID_TARGET", "#elsewhere"))
                ]

    asyncio.run(scenario())
