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


def test_accepted_sockets_have_keepalive_and_nodelay():
    """Keep-alive is set on the listener and inherited: half-open peers are found."""
    import socket

    async def scenario():
        async with running_server(keepalive_interval=42) as server:
            (alice,) = await joined(server.port, "alice")
            (conn,) = server.connections
            assert conn.transport is not None
            sock = conn.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            if hasattr(socket, "TCP_KEEPIDLE"):
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 42
            await alice.close()

    asyncio.run(scenario())


def test_a_parting_message_is_what_the_others_are_told() -> None:
    async def scenario() -> None:
        async with running_server() as server:
            alice, bob, carol = await joined(server.port, "alice", "bob", "carol")
            await alice.send({"type": "quit", "message": "bye \x1b[2J all\nnow"})
            await alice.until("goodbye")
            left = await bob.until("user_left")
            assert (left["username"], left["reason"]) == ("alice", "Quit: bye \\x1b[2J all now")
            assert (await carol.until("user_left"))["username"] == "alice"
            await bob.send({"type": "quit"})
            assert (await carol.until("user_left"))["reason"] == "quit"

    asyncio.run(scenario())
