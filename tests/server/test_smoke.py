import asyncio

from tests.helpers import joined, running_server


def test_two_users_chat():
    async def scenario():
        async with running_server() as server:
            alice, bob = await joined(server.port, "alice", "bob")
            await alice.send({"type": "chat", "message": "Hello everyone!"})
            echo = await alice.until("chat")
            seen = await bob.until("chat")
            assert echo == seen
            assert seen["username"] == "alice" and seen["message"] == "Hello everyone!"
            assert isinstance(seen["id"], int) and isinstance(seen["timestamp"], float)

    asyncio.run(scenario())
