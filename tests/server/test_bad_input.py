"""Bad input over real sockets: each case gets an error reply, the server serves on."""

import asyncio
import logging

import pytest

from tests.helpers import LineClient, joined, running_server


async def still_works(alice: LineClient, bob: LineClient, text: str = "still here") -> None:
    await alice.send({"type": "chat", "message": text})
    assert (await alice.until("chat"))["message"] == text
    assert (await bob.until("chat"))["message"] == text


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"this is not json\n", "bad_json"),
        (b"[1, 2, 3]\n", "not_object"),
        (b'{"type": "teleport"}\n', "unknown_type"),
        (b'{"type": "chat"}\n', "missing_field"),
        (b'{"type": "chat", "message": ["x"]}\n', "invalid_field"),
        (b'{"type": "chat", "message": "caf\xe9"}\n', "bad_utf8"),
        (b"\xff\xfe\xfd\n", "bad_utf8"),
        (b'{"type": "chat", "message": "' + b"x" * 70_000 + b'"}\n', "line_too_long"),
        (b'{"type": "private", "target": "nobody", "message": "hi"}\n', "unknown_user"),
        (b'{"type": "chat", "message": "  "}\n', "empty_message"),
        (b'{"type": "join", "username": "carol"}\n', "already_joined"),
    ],
)
def test_bad_line_gets_error_and_connection_keeps_working(raw: bytes, code: str):
    async def scenario():
        async with running_server() as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await alice.send_raw(raw)
            error = await alice.json()
            assert error["type"] == "error" and error["code"] == code and error["message"]
            await still_works(alice, bob)

    asyncio.run(scenario())


def test_errors_before_join_and_taken_names():
    async def scenario():
        async with running_server() as server:
            (alice,) = await joined(server.port, "alice")
            other = await LineClient.connect(server.port)
            await other.send({"type": "chat", "message": "hi"})
            assert (await other.json())["code"] == "not_joined"
            await other.send({"type": "join", "username": "ALICE"})
            taken = await other.json()
            assert taken == {
                "type": "error",
                "code": "name_taken",
                "message": "Username already taken",
            }
            await other.send({"type": "join", "username": "no spaces please"})
            assert (await other.json())["code"] == "invalid_name"
            await other.join("alice2")
            assert (await alice.until("user_joined"))["username"] == "alice2"

    asyncio.run(scenario())


def test_unterminated_line_at_eof_is_handled():
    async def scenario():
        async with running_server() as server:
            (alice,) = await joined(server.port, "alice")
            half = await LineClient.connect(server.port)
            await half.send_raw(b'{"type": "join", "username": "half"}\n{"type": "chat", "mess')
            await half.json()
            half.writer.write_eof()
            error = await half.until("error")
            assert error["code"] == "bad_json"
            assert await half.closed()
            assert (await alice.until("user_left"))["username"] == "half"

    asyncio.run(scenario())


def test_flood_is_answered_with_rate_limit_errors_and_nothing_acknowledged_is_lost():
    async def scenario():
        async with running_server(message_rate=5, message_burst=10) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            burst = b"".join(b'{"type": "chat", "message": "m%d"}\n' % i for i in range(200))
            await alice.send_raw(burst)
            echoed: list[str] = []
            limited = 0
            while len(echoed) + limited < 200:
                reply = await alice.json()
                if reply["type"] == "chat":
                    echoed.append(reply["message"])
                elif reply["type"] == "error":
                    assert reply["code"] == "rate_limited"
                    limited += 1
            assert 10 <= len(echoed) < 200 and limited > 0
            # every acknowledged (echoed) message reached bob, in order
            received = [(await bob.until("chat"))["message"] for _ in echoed]
            assert received == echoed

    asyncio.run(scenario())


def test_client_that_stops_reading_is_dropped_and_others_are_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario():
        async with running_server(max_buffer=256 * 1024, message_rate=0, command_rate=0) as server:
            alice, bob, sloth = await joined(server.port, "alice", "bob", "sloth")
            sloth.writer.transport.pause_reading()  # type: ignore[attr-defined]
            big = "x" * 60_000
            left = None
            for i in range(400):  # bounded: at most 24 MB through loopback
                await alice.send({"type": "chat", "message": f"{i} {big}"})
                assert (await alice.until("chat"))["message"].startswith(f"{i} ")
                reply = await bob.json()
                while reply["type"] != "chat":
                    if reply["type"] == "user_left":
                        left = reply
                    reply = await bob.json()
                assert reply["message"].startswith(f"{i} ")
                if left is not None or "sloth" not in {c.name for c in server.connections}:
                    break
            else:
                pytest.fail("the client that stopped reading was never dropped")
            if left is None:
                left = await bob.until("user_left")
            assert left["username"] == "sloth"
            await still_works(alice, bob, "after the drop")

    with caplog.at_level(logging.INFO, logger="chinwag"):
        asyncio.run(scenario())
    about_sloth = [r for r in caplog.records if "sloth" in r.getMessage()]
    drops = [r for r in about_sloth if r.levelno >= logging.WARNING]
    assert len(drops) == 1, [r.getMessage() for r in about_sloth]  # logged once, not twice
    assert "not reading" in drops[0].getMessage()


def test_keepalive_pings_silent_clients_and_drops_dead_ones():
    async def scenario():
        async with running_server(keepalive_interval=0.2, keepalive_timeout=0.6) as server:
            alice, bob = await joined(server.port, "alice", "bob")
            ping = await alice.until("ping", timeout=3)
            assert "timestamp" in ping
            await alice.send({"type": "pong"})  # alice shows she answers pings...
            await bob.send({"type": "pong"})
            # ...then bob keeps answering while alice goes silent (a dead peer)
            async with asyncio.timeout(5):
                while True:
                    msg = await bob.json()
                    if msg["type"] == "ping":
                        await bob.send({"type": "pong"})
                    elif msg["type"] == "user_left":
                        assert msg["username"] == "alice"
                        assert "keep-alive" in msg.get("reason", "")
                        break

    asyncio.run(scenario())


def test_connection_that_never_joins_is_closed():
    async def scenario():
        async with running_server(join_timeout=0.3) as server:
            lurker = await LineClient.connect(server.port)
            assert await lurker.closed(timeout=3)

    asyncio.run(scenario())


def test_quit_says_goodbye_and_closes():
    async def scenario():
        async with running_server() as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await bob.send({"type": "quit"})
            assert (await bob.json()) == {"type": "goodbye", "message": "Goodbye, bob!"}
            assert await bob.closed()
            left = await alice.until("user_left")
            assert left["username"] == "bob" and left["message"] == "bob left the chat"

    asyncio.run(scenario())


def test_many_clients_all_receive_every_message():
    async def scenario():
        async with running_server(message_rate=0, command_rate=0) as server:
            clients = [await LineClient.connect(server.port) for _ in range(200)]
            for i, client in enumerate(clients):
                await client.send({"type": "join", "username": f"user{i}"})
            for client in clients:
                await client.until("welcome")
            senders = clients[:5]
            for n, sender in enumerate(senders):
                for k in range(10):
                    await sender.send({"type": "chat", "message": f"{n}:{k}"})
            for client in clients:
                got: list[str] = []
                while len(got) < 50:
                    msg = await client.json()
                    if msg["type"] == "chat":
                        got.append(msg["message"])
                for n in range(5):  # each sender's messages arrive in its order
                    mine = [m for m in got if m.startswith(f"{n}:")]
                    assert mine == [f"{n}:{k}" for k in range(10)]

    asyncio.run(scenario())
