"""Accounts from netcat: the plain dialect's /register, /login, /logout and /password over
real sockets; a password typed there never comes back to anyone, nor into the log."""

from __future__ import annotations

import asyncio
import logging

import pytest

from chinwag.config import ListenSpec
from tests.helpers import TIMEOUT, LineClient, running_server

PASSWORD = "s3cret-horse-battery"
WRONG = "wr0ng-guess-entirely"
NEW = "n3w-password-for-her"
SECRETS = (PASSWORD, WRONG, NEW)


class Recorder:
    """A raw client whose every received line is kept, to prove what never arrived."""

    def __init__(self, client: LineClient) -> None:
        self.client = client
        self.lines: list[bytes] = []

    @classmethod
    async def connect(cls, port: int) -> Recorder:
        return cls(await LineClient.connect(port))

    async def say(self, line: str) -> None:
        await self.client.send_line(line)

    async def until(self, part: bytes) -> bytes:
        """Lines until one holds `part`; that line."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                line = await self.client.line()
                self.lines.append(line)
                if part in line:
                    return line

    async def rest(self) -> None:
        """Everything up to the server's close."""
        async with asyncio.timeout(TIMEOUT):
            while data := await self.client.reader.read(65536):
                self.lines.extend(data.splitlines())

    def heard_a_secret(self) -> bool:
        text = b"\n".join(self.lines)
        return any(secret.encode() in text for secret in SECRETS)


def test_netcat_registers_logs_in_changes_the_password_and_logs_out(
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)

    async def scenario():
        async with running_server(listen=[ListenSpec(0, "plain")]) as server:
            plain = next(p for p, dialect in server.ports.items() if dialect == "plain")
            watcher = await Recorder.connect(server.port)
            await watcher.say("I am watching")  # the auto port: plain, joined as a guest
            await watcher.until(b"*** Online:")

            one = await Recorder.connect(plain)
            line = await one.until(b"*** Welcome to chinwag, Client ")
            guest = line.split(b", ", 1)[1].split(b"!")[0].decode()
            await one.say(f"/register alice {PASSWORD}")
            assert await one.until(b"Logged in as") == (
                b"*** Logged in as alice. Welcome to chinwag, alice!"
            )
            await one.until(b"*** You are now known as alice")
            await watcher.until(f"*** {guest} is now known as alice".encode())
            await one.say("/logout")
            await one.until(b"*** Logged out")
            await one.rest()  # the server closed the connection

            two = await Recorder.connect(server.port)
            await two.say(f"/login alice {WRONG}")  # the first line joins it as a guest first
            await two.until(b"*** Welcome to chinwag, Client ")
            await two.until(b"*** Error: Wrong username or password")
            await two.say("/users")  # still connected, still a guest
            await two.until(b"*** Users online:")
            await two.say("/login alice")
            await two.until(b"*** Error: Usage: /login NAME PASSWORD")
            await two.say(f"/login alice {PASSWORD}")
            await two.until(b"*** Logged in as alice.")
            await two.say("hello from netcat")
            await watcher.until(b"alice: hello from netcat")

            await two.say(f"/password {WRONG} {NEW}")
            await two.until(b"*** Error: Wrong password")
            await two.say(f"/password {PASSWORD} {NEW}")
            await two.until(b"*** Password changed")
            await two.say("/nick someone")
            await two.until(b"*** Error: An account keeps its name")

            three = await Recorder.connect(plain)
            await three.until(b"*** Online:")
            await three.say(f"/login alice {PASSWORD}")  # the old password is gone
            await three.until(b"*** Error: Wrong username or password")
            await three.say(f"/login alice {NEW}")
            await three.until(b"*** Logged in as alice.")
            await two.until(b"*** Signed out: signed in elsewhere")  # one session an account
            await two.rest()

            for client in (one, two, three, watcher):
                assert not client.heard_a_secret(), client.lines
            for client in (three, watcher):
                await client.client.close()
        assert "failed login as 'alice'" in caplog.text  # the log was captured
        for secret in SECRETS:
            assert secret not in caplog.text

    asyncio.run(scenario())


def test_where_guests_are_refused_netcat_gets_in_by_registering():
    async def scenario():
        async with running_server(listen=[ListenSpec(0, "plain")], guests="deny") as server:
            plain = next(p for p, dialect in server.ports.items() if dialect == "plain")
            nc = await Recorder.connect(plain)
            await nc.until(b"*** Error: This server is for accounts only")
            await nc.say("hello?")
            await nc.until(b"*** Error: Sign in first: /login NAME PASSWORD")
            await nc.say(f"/register carol {PASSWORD}")
            await nc.until(b"*** Logged in as carol.")
            await nc.say("/users")
            assert await nc.until(b"*** Users online") == b"*** Users online: carol"
            assert not nc.heard_a_secret()
            await nc.client.close()

    asyncio.run(scenario())
