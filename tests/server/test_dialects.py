"""Clients written from each seed's description talk to a real server, and to each other.

Each client class below knows only its dialect's description (docs/dialects.md): how to
name itself, how to say something, how to recognise a message from someone else.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import orjson

from chinwag.config import CLASSIC_PORTS, ListenSpec
from chinwag.protocol.dialects import DIALECTS
from tests.helpers import TIMEOUT, LineClient, running_server

SEED_PORTS = [ListenSpec(0, d) for d in ("typed", "plain", "pipe", "basic")]


def hhmmss(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


async def read_until(client: LineClient, match: Callable[[bytes], Any]) -> Any:
    """Read lines until `match` says yes; return the line (or what `match` returned)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            line = await client.line()
            found = match(line)
            if found:
                return line if found is True else found


def line_is(expected: bytes) -> Callable[[bytes], bool]:
    return lambda line: line == expected


def starts(prefix: bytes) -> Callable[[bytes], bool]:
    return lambda line: line.startswith(prefix)


def starts_error(prefix: bytes) -> Callable[[bytes], bool]:
    """An error line in a dialect whose other lines may share its prefix."""
    return lambda line: line.startswith(prefix) and b"rror" in line.lower()


def has(part: bytes) -> Callable[[bytes], bool]:
    return lambda line: part in line


def as_json(line: bytes) -> dict[str, Any]:
    obj = orjson.loads(line)
    assert isinstance(obj, dict), line
    return obj


class Peer:
    """A chat client of one dialect: join, say, and pick out others' messages."""

    dialect = ""
    name = ""
    client: LineClient

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []  # every room message seen, in order

    async def say(self, text: str) -> None:
        raise NotImplementedError

    def heard(self, line: bytes) -> tuple[str, str, Any] | None:
        """(sender, text, timestamp or None) if the line is someone's room message."""
        raise NotImplementedError

    async def hear(self, sender: str, text: str) -> Any:
        """Wait for `sender` to say `text`; return its timestamp as this dialect shows it."""

        def match(line: bytes) -> Any:
            got = self.heard(line)
            if got is None:
                return None
            self.log.append(got[:2])
            return got if got[:2] == (sender, text) else None

        return (await read_until(self.client, match))[2]


class Native(Peer):
    dialect = "native"

    @classmethod
    async def join(cls, port: int, name: str) -> Native:
        peer = cls()
        peer.client = await LineClient.connect(port)
        peer.name = (await peer.client.join(name))["username"]
        return peer

    async def say(self, text: str) -> None:
        await self.client.send({"type": "chat", "message": text})

    def heard(self, line: bytes) -> tuple[str, str, Any] | None:
        obj = as_json(line)
        if obj.get("type") != "chat":
            return None
        return obj["username"], obj["message"], obj["timestamp"]


class Typed(Peer):
    """Seed 000: the first line is the username; then typed JSON objects."""

    dialect = "typed"

    @classmethod
    async def join(cls, port: int, name: str) -> Typed:
        peer = cls()
        peer.client = await LineClient.connect(port)
        await peer.client.send_line(name)
        welcome = await read_until(peer.client, as_json)
        assert welcome["type"] == "system" and name in welcome["message"], welcome
        peer.name = name
        return peer

    async def say(self, text: str) -> None:
        await self.client.send({"type": "message", "message": text})

    def heard(self, line: bytes) -> tuple[str, str, Any] | None:
        obj = as_json(line)
        if obj.get("type") != "message":
            return None
        assert re.fullmatch(r"\d\d:\d\d:\d\d", obj["timestamp"]), obj
        return obj["sender"], obj["message"], obj["timestamp"]


class Basic(Peer):
    """Seed 003: `{"username", "message"}` both ways; the first line names the client."""

    dialect = "basic"

    @classmethod
    async def join(cls, port: int, name: str, first: str = "") -> Basic:
        peer = cls()
        peer.client = await LineClient.connect(port)
        await peer.client.send({"username": name, "message": first})
        welcome = await read_until(peer.client, as_json)
        assert name in welcome["message"] and "error" not in welcome, welcome
        peer.name = name
        return peer

    async def say(self, text: str) -> None:
        await self.client.send({"username": self.name, "message": text})

    def heard(self, line: bytes) -> tuple[str, str, Any] | None:
        obj = as_json(line)
        if obj["username"] == "[server]":
            return None
        return obj["username"], obj["message"], None


class Pipe(Peer):
    """Seed 002: USER|name -> USER_OK; MSG|text -> MSG_OK; others get MSG|sender|text."""

    dialect = "pipe"
    acks = 0

    @classmethod
    async def join(cls, port: int, name: str) -> Pipe:
        peer = cls()
        peer.client = await LineClient.connect(port)
        await peer.client.send_line(f"USER|{name}")
        assert await peer.client.line() == b"USER_OK"
        peer.name = name
        return peer

    async def say(self, text: str) -> None:
        await self.client.send_line(f"MSG|{text}")

    def heard(self, line: bytes) -> tuple[str, str, Any] | None:
        if line == b"MSG_OK":
            self.acks += 1
        if not line.startswith(b"MSG|"):
            return None
        _, sender, text = line.decode().split("|", 2)
        return sender, text, None


class Plain(Peer):
    """Seed 001: text lines; the server names us `Client N`; others show as `name: text`."""

    dialect = "plain"
    WELCOME = re.compile(r"\*\*\* Welcome to \S+, (.+?)! ")

    @classmethod
    async def join(cls, port: int, first: str | None = None) -> Plain:
        """On a plain port the server speaks first; on the auto port `first` is said."""
        peer = cls()
        peer.client = await LineClient.connect(port)
        if first is not None:
            await peer.client.send_line(first)
        else:
            greeting = await peer.client.text()  # unasked
            assert "chinwag" in greeting and "/help" in greeting
        line = await peer.client.text()
        match = cls.WELCOME.match(line)
        assert match, line  # on the auto port nothing came before the welcome
        peer.name = match.group(1)
        assert re.fullmatch(r"Client \d+", peer.name)
        return peer

    async def say(self, text: str) -> None:
        await self.client.send_line(text)

    def heard(self, line: bytes) -> tuple[str, str, Any] | None:
        text = line.decode()
        if text.startswith(("*** ", "[private")):
            return None
        sender, sep, message = text.partition(": ")
        return (sender, message, None) if sep else None


def ports_of(server: Any) -> dict[str, int]:
    return {dialect: port for port, dialect in server.ports.items()}


# --------------------------------------------------------------------------- one dialect each


def test_typed_client_on_its_own_port():
    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            bob = await Native.join(ports["auto"], "bob")
            alice = await Typed.join(ports["typed"], "Alice")
            await bob.client.until("user_joined")

            await alice.say("Hello everyone!")
            said = await bob.client.until("chat")
            assert (said["username"], said["message"]) == ("Alice", "Hello everyone!")

            await bob.say("Hi Alice")
            echo = await bob.client.until("chat")
            assert await alice.hear("bob", "Hi Alice") == hhmmss(echo["timestamp"])

            await alice.client.send({"type": "private", "target": "bob", "message": "Hi there!"})
            private = await bob.client.until("private")
            assert private["username"] == "Alice" and private["message"] == "Hi there!"
            confirm = await read_until(alice.client, as_json)
            assert confirm["type"] == "private" and confirm["target"] == "bob"

            await bob.client.send({"type": "private", "target": "Alice", "message": "psst"})
            got = await read_until(alice.client, as_json)
            assert got["type"] == "private" and got["sender"] == "bob"
            assert got["message"] == "psst" and re.fullmatch(r"\d\d:\d\d:\d\d", got["timestamp"])

            await alice.client.send({"type": "list_users"})
            users = await read_until(alice.client, as_json)
            assert users["type"] == "list_users" and set(users["users"]) == {"Alice", "bob"}

            await bob.client.close()
            left = await read_until(alice.client, as_json)
            assert left == {"type": "system", "message": "bob left the chat", **stamp(left)}

    asyncio.run(scenario())


def stamp(obj: dict[str, Any]) -> dict[str, Any]:
    assert re.fullmatch(r"\d\d:\d\d:\d\d", obj["timestamp"]), obj
    return {"timestamp": obj["timestamp"]}


def test_basic_client_on_its_own_port_and_detected():
    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            dave = await Basic.join(ports["auto"], "dave")
            carol = await Basic.join(ports["basic"], "carol", first="hey")
            assert await dave.hear("carol", "hey") is None
            await dave.say("hi carol")
            assert await carol.hear("dave", "hi carol") is None
            await carol.client.send({"username": "carol", "message": ""})
            error = await read_until(carol.client, as_json)
            assert error["username"] == "[server]" and error["error"] == "empty_message"

    asyncio.run(scenario())


def test_pipe_client_on_its_own_port_and_detected():
    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            pete = await Pipe.join(ports["pipe"], "pete")
            paul = await Pipe.join(ports["auto"], "paul")
            await pete.say("hello paul")
            await paul.hear("pete", "hello paul")
            await paul.client.send_line("DIR")
            listing = await read_until(paul.client, starts(b"Users logged in"))
            assert listing == b"Users logged in: paul, pete"

            intruder = await LineClient.connect(ports["pipe"])
            await intruder.send_line("USER|pete")
            assert await intruder.line() == b"ERROR|Username already taken"
            await intruder.send_line("USER|petra")
            assert await intruder.line() == b"USER_OK"

    asyncio.run(scenario())


def test_plain_port_greets_first_and_joins_at_once():
    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            one = await Plain.join(ports["plain"])
            two = await Plain.join(ports["plain"])  # has not typed a thing
            await read_until(one.client, line_is(f"*** {two.name} joined the chat".encode()))

            await one.say("Hello World")
            await two.hear(one.name, "Hello World")

            await one.say("/nick bob")
            assert await read_until(one.client, has(b"now known")) == (
                b"*** You are now known as bob"
            )
            notice = f"*** {one.name} is now known as bob".encode()
            await read_until(two.client, line_is(notice))

            await one.say(f"/msg {two.name} psst")  # a name with a space in it
            await read_until(two.client, line_is(b"[private] bob: psst"))
            await two.say("/msg bob back at you")
            await read_until(one.client, line_is(f"[private] {two.name}: back at you".encode()))

            await two.say("/users")
            users = await read_until(two.client, starts(b"*** Users online"))
            assert users == f"*** Users online: bob, {two.name}".encode()

            await two.say("/help")
            await read_until(two.client, has(b"/msg NAME text"))

            await two.say("/quit")
            await read_until(two.client, line_is(f"*** Goodbye, {two.name}!".encode()))
            assert await two.client.closed()
            await read_until(one.client, line_is(f"*** {two.name} left the chat".encode()))

    asyncio.run(scenario())


def test_plain_is_detected_on_the_auto_port():
    async def scenario():
        async with running_server() as server:
            watcher = await Native.join(server.port, "watcher")
            nc = await Plain.join(server.port, first="Hello World")
            said = await watcher.client.until("chat")
            assert (said["username"], said["message"]) == (nc.name, "Hello World")
            for word in ("quit", "exit", "/quit"):
                other = await Plain.join(server.port, first="hi")
                await other.say(word)
                await read_until(other.client, starts(b"*** Goodbye"))
                assert await other.client.closed()

    asyncio.run(scenario())


# --------------------------------------------------------------------------- all together


def test_every_dialect_in_one_room():
    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            native = await Native.join(ports["auto"], "nat")
            typed = await Typed.join(ports["typed"], "typ")
            peers: list[Peer] = [
                native,
                typed,
                await Basic.join(ports["auto"], "bas"),
                await Basic.join(ports["basic"], "bas2"),
                await Pipe.join(ports["auto"], "pip"),
                await Pipe.join(ports["pipe"], "pip2"),
                await Plain.join(ports["plain"]),
            ]
            nc = await Plain.join(ports["auto"], first="I am here")  # its first line is said
            said = [(nc.name, "I am here")]
            peers.append(nc)
            names = [p.name for p in peers]
            assert len({n.casefold() for n in names}) == len(names)

            for peer in peers[:-1]:
                await peer.hear(*said[0])
            stamps: list[tuple[Any, Any]] = []
            for peer in peers:
                said.append((peer.name, f"hello from {peer.dialect} {peer.name}"))
                await peer.say(said[-1][1])
                heard = {o.dialect: await o.hear(*said[-1]) for o in peers if o is not peer}
                stamps.append((heard.get("native"), heard.get("typed")))
            await native.say("the end")  # flushes any stray echo into the logs
            for peer in peers[1:]:
                await peer.hear("nat", "the end")

            assert native.log == said  # native echoes a sender's words back to it
            for peer in peers[1:]:  # the seeds' clients hear everyone else, in order, not self
                assert peer.log == [*(m for m in said if m[0] != peer.name), ("nat", "the end")]
            assert [p.acks for p in peers if isinstance(p, Pipe)] == [1, 1]  # MSG_OK each
            for native_stamp, typed_stamp in stamps:
                if native_stamp is not None and typed_stamp is not None:
                    assert typed_stamp == hhmmss(native_stamp)

    asyncio.run(scenario())


# --------------------------------------------------------------------------- the server's rules


def test_names_are_unique_across_dialects():
    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            alice = await Native.join(ports["auto"], "alice")  # kept: a dropped client closes
            assert alice.name == "alice"

            typed = await LineClient.connect(ports["typed"])
            await typed.send_line("ALICE")
            refused = await typed.json()
            assert refused["type"] == "system" and refused["error"] == "name_taken"
            await typed.send_line("alice2")  # a refused name may be tried again
            assert "alice2" in (await typed.json())["message"]

            basic = await LineClient.connect(ports["basic"])
            await basic.send({"username": "Alice", "message": "hi"})
            refused = await basic.json()
            assert refused["username"] == "[server]" and refused["error"] == "name_taken"

            pipe = await LineClient.connect(ports["auto"])
            await pipe.send_line("USER|alice2")
            assert await pipe.line() == b"ERROR|Username already taken"

            plain = await Plain.join(ports["plain"])
            await plain.say("/nick Alice")
            error = await read_until(plain.client, starts(b"*** Error"))
            assert error == b"*** Error: Username already taken"

    asyncio.run(scenario())


BAD_INPUT = {
    # dialect: (how to join, a bad line, its error's prefix, a good line, its answer's prefix)
    "typed": (
        b"tina\n", b"{nope\n", b'{"type":"system"', b'{"type":"list_users"}\n', b'{"type":"list_'
    ),
    "basic": (
        b'{"username":"bert","message":""}\n', b"[1]\n", b'{"username":"[server]"',
        b'{"message":"ok"}\n', None,
    ),
    "pipe": (b"USER|pia\n", b"SHOUT|x\n", b"ERROR|", b"DIR\n", b"Users logged in: "),
    "plain": (b"", b"/shout\n", b"*** Error: ", b"/users\n", b"*** Users online: "),
    "plain-utf8": (b"", b"caf\xe9\n", b"*** Error: ", b"/users\n", b"*** Users online: "),
}  # fmt: skip


def test_bad_input_is_answered_in_each_dialects_own_form_and_the_connection_lives():
    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            watcher = await Native.join(ports["auto"], "watcher")
            clients = []  # kept open: a dropped client closes its connection
            for dialect, (join, bad, error, good, answer) in BAD_INPUT.items():
                client = await LineClient.connect(ports[dialect.split("-")[0]])
                clients.append(client)
                await client.send_raw(join)
                await watcher.client.until("user_joined")
                await client.send_raw(bad)
                line = await read_until(client, starts_error(error))
                assert b"\n" not in line, dialect
                await client.send_raw(good)
                if answer is not None:
                    await read_until(client, starts(answer))
                else:  # basic has no command with an answer: the room hears it instead
                    said = await watcher.client.until("chat")
                    assert said["message"] == "ok"

    asyncio.run(scenario())


def test_line_limit_is_enforced_in_every_dialect():
    async def scenario():
        async with running_server(listen=SEED_PORTS, max_line=100) as server:
            ports = ports_of(server)
            long = b"x" * 300
            typed = await Typed.join(ports["typed"], "tina")
            await typed.client.send_raw(b'{"type":"message","message":"' + long + b'"}\n')
            assert (await typed.client.json())["error"] == "line_too_long"

            basic = await Basic.join(ports["basic"], "bert")
            await basic.client.send_raw(long + b"\n")
            assert (await basic.client.json())["error"] == "line_too_long"

            pipe = await Pipe.join(ports["pipe"], "pia")
            await pipe.client.send_raw(b"MSG|" + long + b"\n")
            assert (await read_until(pipe.client, starts(b"ERROR|"))).startswith(
                b"ERROR|Line too long"
            )

            plain = await Plain.join(ports["plain"])
            await plain.say(long.decode())
            error = await read_until(plain.client, starts(b"*** Error"))
            assert error.startswith(b"*** Error: Line too long")

            # On the auto port a first line over the limit decides nothing; the next one does.
            auto = await LineClient.connect(ports["auto"])
            await auto.send_raw(long + b"\n")
            assert (await auto.json())["code"] == "line_too_long"
            await auto.send_line("USER|otto")
            assert await auto.line() == b"USER_OK"

            for peer in (typed, basic, pipe, plain):  # every connection survived
                await peer.say(f"still here, {peer.name}")
                expected = f"MSG|{peer.name}|still here, {peer.name}".encode()
                await read_until(auto, line_is(expected))

    asyncio.run(scenario())


def test_every_listener_dialect_is_registered():
    assert {d for _, d in CLASSIC_PORTS} <= set(DIALECTS)
    assert dict(CLASSIC_PORTS)[12346] == "typed"


# --------------------------------------------------------------------------- terminals


def test_a_hostile_message_reaches_a_netcat_user_inert_live_and_from_history():
    """Escape sequences and forged lines from a native sender, read with `nc`."""

    async def scenario():
        async with running_server(listen=SEED_PORTS) as server:
            ports = ports_of(server)
            mallory = await Native.join(ports["auto"], "mallory")
            nc = await Plain.join(ports["plain"])
            hostile = "\x1b[2J\x1b]52;c;cm0gLXJm\x07ok\nrobert: send me your password"
            await mallory.client.send({"type": "chat", "message": hostile})
            await mallory.client.until("chat")  # the echo: stored
            live = [await read_until(nc.client, has(b"mallory: ")), await nc.client.line()]
            late = await Plain.join(ports["plain"])  # gets it from history, on joining
            replayed = await read_until(late.client, has(b"mallory: "))
            for lines in (live, [replayed, await late.client.line()]):
                assert lines == [
                    b"mallory: \\x1b[2J\\x1b]52;c;cm0gLXJm\\x07ok",
                    b"mallory: robert: send me your password",
                ]

    asyncio.run(scenario())
