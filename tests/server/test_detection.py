"""The auto port hands a connection to the detected dialect's codec for good."""

import asyncio

from tests.helpers import LineClient, joined, running_server


def test_detected_connection_talks_to_its_dialect_codec_directly():
    async def scenario():
        async with running_server() as server:
            (alice,) = await joined(server.port, "alice")
            [conn] = list(server.connections)
            assert conn.codec.dialect == "native"
            assert conn.session is not None and conn.session.dialect == "native"
            await alice.send({"type": "chat", "message": "hi"})
            assert (await alice.until("chat"))["message"] == "hi"

    asyncio.run(scenario())


def test_a_line_split_across_the_detection_boundary_is_kept():
    async def scenario():
        async with running_server() as server:
            client = await LineClient.connect(server.port)
            await client.send_raw(b'{"type": "join", "username": "bob"}\n{"type": "ch')
            assert (await client.json())["type"] == "welcome"
            await client.send_raw(b'at", "message": "split"}\n')
            assert (await client.until("chat"))["message"] == "split"

    asyncio.run(scenario())


def test_plain_first_line_is_detected_and_said():
    async def scenario():
        async with running_server() as server:
            (alice,) = await joined(server.port, "alice")
            plain = await LineClient.connect(server.port)
            await plain.send_raw(b"Hello World\n")
            said = await alice.until("chat")
            assert said["message"] == "Hello World" and said["username"].startswith("Client ")
            dialects = sorted(c.codec.dialect for c in server.connections)
            assert dialects == ["native", "plain"]

    asyncio.run(scenario())
