"""A raw IRC client for the tests: lines in, parsed messages out, nothing skipped silently."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from typing import Any

from chinwag.engine.names import user_key
from chinwag.protocol.irc_wire import Message, parse
from chinwag.server.app import ChatServer
from chinwag.storage.base import AccountRecord
from tests.helpers import TIMEOUT

# What `until` may skip on the way: other people coming and going, and server pings.
PRESENCE = frozenset({"JOIN", "PART", "QUIT", "NICK", "PING"})
_tokens = itertools.count(1)


class IrcClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.nick = "*"

    @classmethod
    async def connect(cls, port: int) -> IrcClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        return cls(reader, writer)

    async def send(self, *lines: str) -> None:
        self.writer.write(b"".join(line.encode() + b"\r\n" for line in lines))
        await self.writer.drain()

    async def raw(self, timeout: float = TIMEOUT) -> bytes:
        data = await asyncio.wait_for(self.reader.readline(), timeout)
        if not data:
            raise EOFError("server closed the connection")
        assert data.endswith(b"\r\n"), data
        assert len(data.split(b" ", 1)[-1] if data.startswith(b"@") else data) <= 512, data
        return data[:-2]

    async def message(self, timeout: float = TIMEOUT) -> Message:
        line = (await self.raw(timeout)).decode()
        msg = parse(line)
        assert msg is not None, line
        return msg

    async def until(
        self, command: str, timeout: float = TIMEOUT, skip: frozenset[str] = PRESENCE
    ) -> Message:
        """The next message with this command, skipping only `skip` on the way."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.message(timeout)
                if msg.command == command:
                    return msg
                if msg.command not in skip:
                    raise AssertionError(f"waiting for {command}, got {msg!r}")

    async def settle(self, timeout: float = TIMEOUT) -> list[Message]:
        """Everything owed now: the answer to a PING comes after all of it."""
        token = f"settle{next(_tokens)}"
        await self.send(f"PING {token}")
        seen: list[Message] = []
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.message(timeout)
                if msg.command == "PONG" and msg.params[-1] == token:
                    return seen
                seen.append(msg)

    async def register(
        self,
        nick: str,
        caps: tuple[str, ...] = (),
        *,
        sasl: tuple[str, str] | None = None,
        password: str | None = None,
    ) -> list[Message]:
        """Register (with CAP negotiation when caps are asked) up to #general's 366."""
        lines = ["CAP LS 302"] if caps or sasl else []
        if password is not None:
            lines.append(f"PASS :{password}")
        lines += [f"NICK {nick}", "USER u 0 * :Test User"]
        wanted = list(caps) + (["sasl"] if sasl else [])
        if wanted:
            lines.append("CAP REQ :" + " ".join(wanted))
        await self.send(*lines)
        got: list[Message] = []
        if wanted:
            got.append(await self.until("CAP"))  # LS
            ack = await self.until("CAP")
            assert ack.params[1] == "ACK", ack
            got.append(ack)
        if sasl is not None:
            await self.send("AUTHENTICATE PLAIN")
            assert (await self.message()).params == ("+",)
            blob = base64.b64encode(f"\0{sasl[0]}\0{sasl[1]}".encode()).decode()
            await self.send(f"AUTHENTICATE {blob}")
        elif wanted:
            await self.send("CAP END")
        async with asyncio.timeout(TIMEOUT):
            while True:
                msg = await self.message()
                got.append(msg)
                if msg.command == "001":
                    self.nick = msg.params[0]
                if msg.command == "366" and msg.params[1] == "#general":
                    break
                assert msg.command not in ("433", "432", "464", "904", "ERROR"), msg
        if sasl is not None:
            await self.send("CAP END")
        return got

    async def join(self, chan: str) -> list[Message]:
        """JOIN a channel; its JOIN, topic and names, up to its 366."""
        await self.send(f"JOIN {chan}")
        got: list[Message] = []
        async with asyncio.timeout(TIMEOUT):
            while True:
                msg = await self.message()
                got.append(msg)
                if msg.command == "366" and msg.params[1] == chan:
                    return got

    async def closed(self, timeout: float = TIMEOUT) -> bool:
        async with asyncio.timeout(timeout):
            while await self.reader.read(65536):
                pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def commands(messages: list[Message]) -> list[str]:
    return [m.command for m in messages]


PASSWORD = "correct horse battery"


async def make_account(server: ChatServer, name: str, role: str = "member") -> None:
    """An account as an admin would make it with `chinwag user add`."""
    engine = server.engine
    assert engine.passwords is not None
    key = user_key(name)
    hashed = await engine.passwords.hash(PASSWORD)
    await engine.store.create_account(AccountRecord(key, name, hashed, role, 0.0))
    engine.registered.add(key)


async def irc_user(server: ChatServer, nick: str, *caps: str, **how: Any) -> IrcClient:
    client = await IrcClient.connect(server.port)
    await client.register(nick, caps, **how)
    await client.settle()
    return client
