"""The WebSocket front end over real sockets: the same chat as TCP, and hostile input
answered with an error or a clean close, never stalling anyone else."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from chinwag.server import websocket as web_connection
from tests.helpers import LineClient, joined, running_server
from tests.web.support import (
    RawWebSocket,
    joined_ws,
    masked,
    receive,
    send,
    until,
    web_port,
    ws_client,
)


async def chat_still_works(port: int, sender: str = "witness") -> None:
    """Another client can still chat (and see its echo) promptly."""
    ws = await joined_ws(port, sender)
    await send(ws, {"type": "chat", "message": "still here"})
    async with asyncio.timeout(2.0):
        while (message := await until(ws, "chat")).get("history"):
            pass  # the room's recent messages, replayed on join
    assert message["message"] == "still here"
    await ws.close()


def test_websocket_and_tcp_clients_chat_in_one_room():
    async def scenario():
        async with running_server(http_port=-1) as server:
            (tcp,) = await joined(server.port, "carol")
            alice = await joined_ws(web_port(server), "alice")
            assert (await tcp.until("user_joined"))["username"] == "alice"
            await send(alice, {"type": "chat", "message": "hello from the web"})
            echo = await until(alice, "chat")
            assert echo["message"] == "hello from the web" and echo["id"] > 0
            assert (await tcp.until("chat"))["message"] == "hello from the web"
            await tcp.send({"type": "chat", "message": "hello from netcat"})
            assert (await until(alice, "chat"))["message"] == "hello from netcat"
            assert (await tcp.until("chat"))["message"] == "hello from netcat"  # its echo
            await send(alice, {"type": "private", "target": "carol", "message": "psst"})
            assert (await tcp.until("private"))["message"] == "psst"
            await alice.close()
            assert (await tcp.until("user_left"))["username"] == "alice"

    asyncio.run(scenario())


def test_each_notice_is_one_text_frame_and_keepalive_is_a_websocket_ping():
    async def scenario():
        async with running_server(
            http_port=-1, keepalive_interval=0.2, keepalive_timeout=0.8
        ) as server:
            raw = await RawWebSocket.open(web_port(server))
            assert raw.status == 101
            await raw.text({"type": "join", "username": "alice"})
            opcode, payload = await raw.frame()
            assert opcode == 0x1 and orjson.loads(payload)["type"] == "welcome"
            assert not payload.endswith(b"\n")
            opcode, payload = await raw.frame(timeout=2.0)
            assert opcode == 0x9  # a WebSocket ping, not a JSON one
            await raw.send(masked(0xA, payload))  # pong
            # A client that answers pings stays, far past keepalive_timeout.
            library_client = await joined_ws(web_port(server), "bob")  # answers by itself
            await asyncio.sleep(1.5)
            await send(library_client, {"type": "chat", "message": "alive"})
            assert (await until(library_client, "chat"))["message"] == "alive"
            # The raw one stopped answering: dropped.
            assert await raw.closed(timeout=3.0)

    asyncio.run(scenario())


def test_origin_is_checked():
    async def scenario():
        async with running_server(http_port=-1) as server:
            port = web_port(server)
            own = await RawWebSocket.open(port, origin=f"http://127.0.0.1:{port}")
            assert own.status == 101
            other = await RawWebSocket.open(port, origin="https://evil.example")
            assert other.status == 403
            assert await other.closed()
        async with running_server(http_port=-1, http_origin=("https://chat.example",)) as server:
            port = web_port(server)
            assert (await RawWebSocket.open(port, origin="https://chat.example")).status == 101
            own = await RawWebSocket.open(port, origin=f"http://127.0.0.1:{port}")
            assert own.status == 403

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked(0x2, b"\x00\x01binary"), 1003),  # binary: text only
        (masked(0x1, b'{"type":"chat"}', mask=False), 1002),  # unmasked: protocol error
        (masked(0x3, b"x"), 1002),  # reserved opcode
        (masked(0x9, b"x" * 126), 1002),  # control frame over 125 bytes
        (masked(0x0, b"x"), 1002),  # continuation of nothing
    ],
)
def test_bad_frames_get_a_clean_close_and_others_chat_on(frame: bytes, code: int):
    async def scenario():
        async with running_server(http_port=-1) as server:
            raw = await RawWebSocket.open(web_port(server))
            await raw.text({"type": "join", "username": "mallory"})
            assert (await raw.message())["type"] == "welcome"
            await raw.send(frame)
            assert await raw.close_code() == code
            assert await raw.closed()
            await chat_still_works(web_port(server))

    asyncio.run(scenario())


def test_bad_json_and_oversized_messages():
    async def scenario():
        async with running_server(http_port=-1, max_line=1000) as server:
            raw = await RawWebSocket.open(web_port(server))
            await raw.text({"type": "join", "username": "alice"})
            assert (await raw.message())["type"] == "welcome"
            for payload, code in [
                (b"not json", "bad_json"),
                (b'{"type":"chat","message":"caf\xe9"}', "bad_utf8"),
                (b"[1]", "not_object"),
                (b'{"type":"chat","message":"' + b"x" * 2000 + b'"}', "line_too_long"),
            ]:
                await raw.send(masked(0x1, payload))
                error = await raw.message()
                assert error["type"] == "error" and error["code"] == code, error
            # A message in three fragments is one message.
            body = b'{"type":"chat","message":"in pieces"}'
            await raw.send(masked(0x1, body[:10], fin=False))
            await raw.send(masked(0x0, body[10:20], fin=False))
            await raw.send(masked(0x0, body[20:]))
            assert (await raw.message())["message"] == "in pieces"
            # Far over the limit (16 times): closed with 1009 before it is all read.
            await raw.send(masked(0x1, b"x" * 20_000))
            assert await raw.close_code() == 1009
            await chat_still_works(web_port(server))

    asyncio.run(scenario())


def test_a_flood_of_frames_is_cut_and_others_chat_on(caplog: pytest.LogCaptureFixture):
    async def scenario():
        async with running_server(http_port=-1) as server:
            raw = await RawWebSocket.open(web_port(server))
            await raw.text({"type": "join", "username": "flooder"})
            assert (await raw.message())["type"] == "welcome"
            frame = masked(0x1, b'{"type":"ping"}')
            await raw.send(frame * 5000)
            assert await raw.closed()
            await chat_still_works(web_port(server))

    with caplog.at_level(logging.WARNING, logger="chinwag.server"):
        asyncio.run(scenario())
    assert "command flood" in caplog.text


def test_a_client_that_stops_reading_is_dropped_and_others_chat_on():
    async def scenario():
        async with running_server(http_port=-1, max_buffer=64 * 1024, message_rate=0) as server:
            port = web_port(server)
            sleeper = await RawWebSocket.open(port)  # never reads again after its welcome
            await sleeper.text({"type": "join", "username": "sleeper"})
            assert (await sleeper.message())["type"] == "welcome"
            sleeper.writer.transport.pause_reading()  # type: ignore[attr-defined]  # the kernel's buffers fill, then ours
            talker = await joined_ws(port, "talker")
            big = "x" * 30_000
            for _ in range(400):  # 12 MB for the sleeper, more than any kernel buffer
                await send(talker, {"type": "chat", "message": big})
                await until(talker, "chat")
            assert server.slow_cuts == 1
            assert "sleeper" not in {c.name for c in server.connections}
            await chat_still_works(port)
            await sleeper.close()

    asyncio.run(scenario())


def test_http_answers_and_security_headers():
    async def scenario():
        async with running_server(http_port=-1) as server:
            port = web_port(server)
            alice = await joined_ws(port, "alice")
            for path, status, kind in [
                ("/", 200, "text/html; charset=utf-8"),
                ("/health", 200, "application/json"),
                ("/metrics", 200, "text/plain; version=1.0.0; charset=utf-8"),
                ("/nothing-here", 404, "text/plain; charset=utf-8"),
                ("/../../etc/passwd", 404, "text/plain; charset=utf-8"),
            ]:
                head, body = await http_get(port, path)
                assert head[0].split(" ")[1] == str(status), (path, head[0])
                headers = dict(line.split(": ", 1) for line in head[1:])
                assert headers["Content-Type"].startswith(kind.split(";")[0]), headers
                csp = headers["Content-Security-Policy"]
                assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
                assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
                assert headers["Referrer-Policy"] == "no-referrer"
                assert headers["X-Content-Type-Options"] == "nosniff"
                if path == "/health":
                    health = orjson.loads(body)
                    assert health["connections"] == 1 and health["store"] == "ok"
                    assert health["version"] and health["uptime"] >= 0
                if path == "/metrics":
                    text = body.decode()
                    assert 'chinwag_connections{front_end="websocket"} 1.0' in text
                    assert "chinwag_store_commit_seconds_bucket" in text
            head, _ = await http_get(port, "/", method="DELETE")
            assert " 405 " in head[0]
            await alice.close()

    asyncio.run(scenario())


def test_metrics_count_messages_and_deliveries():
    async def scenario():
        async with running_server(http_port=-1) as server:
            port = web_port(server)
            alice, bob = await joined_ws(port, "alice"), await joined_ws(port, "bob")
            await send(alice, {"type": "chat", "message": "one"})
            await until(bob, "chat")
            await until(alice, "chat")
            await send(alice, {"type": "join", "username": "x", "password": "wrongwrong"})
            await until(alice, "error")
            _, body = await http_get(port, "/metrics")
            text = body.decode()
            assert "chinwag_messages_total 1.0" in text
            assert "chinwag_deliveries_total" in text and "chinwag_deliveries_total 0.0" not in text
            assert 'chinwag_connections{front_end="websocket"} 2.0' in text

    asyncio.run(scenario())


def test_bad_and_slow_http_requests_are_closed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(web_connection, "HTTP_TIMEOUT", 0.3)

    async def scenario():
        async with running_server(http_port=-1) as server:
            port = web_port(server)
            for request in [
                b"NONSENSE\r\n\r\n",
                b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",  # a body
                b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 500 + b"\r\n",  # too many headers
                b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n",
            ]:
                client = await LineClient.connect(port)
                await client.send_raw(request)
                assert await client.closed()
            slow = await LineClient.connect(port)
            await slow.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end
            assert await slow.closed(timeout=2.0)
            await chat_still_works(port)

    asyncio.run(scenario())


def test_shutdown_sends_a_goodbye_and_a_close_frame():
    async def scenario():
        async with running_server(http_port=-1) as server:
            alice = await joined_ws(web_port(server), "alice")
            await server.shutdown()
            assert (await until(alice, "goodbye"))["message"] == "Server shutting down"
            with pytest.raises(ConnectionClosed) as closed:
                await receive(alice)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    asyncio.run(scenario())


def test_quit_closes_cleanly():
    async def scenario():
        async with running_server(http_port=-1) as server:
            alice = await ws_client(web_port(server))
            await send(alice, {"type": "join", "username": "alice"})
            await until(alice, "welcome")
            await send(alice, {"type": "quit"})
            await until(alice, "goodbye")
            await alice.wait_closed()
            assert alice.close_code == 1000

    asyncio.run(scenario())


async def http_get(port: int, path: str, method: str = "GET") -> tuple[list[str], bytes]:
    client = await LineClient.connect(port)
    await client.send_raw(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    data = await asyncio.wait_for(client.reader.read(), 5)
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body


def test_a_message_is_encoded_once_for_every_websocket_recipient(
    monkeypatch: pytest.MonkeyPatch,
):
    from chinwag.protocol.websocket import WebSocketCodec

    rendered: list[object] = []
    original = WebSocketCodec.render

    def counting(self: WebSocketCodec, notice: object, viewer: str | None) -> bytes:
        rendered.append(notice)
        return original(self, notice, viewer)  # type: ignore[arg-type]

    monkeypatch.setattr(WebSocketCodec, "render", counting)

    async def scenario():
        async with running_server(http_port=-1) as server:
            clients = [await joined_ws(web_port(server), f"user{i}") for i in range(5)]
            await asyncio.sleep(0.2)  # the join notices are out
            rendered.clear()
            await send(clients[0], {"type": "chat", "message": "to all five"})
            for client in clients:
                assert (await until(client, "chat"))["message"] == "to all five"
            chats = [n for n in rendered if type(n).__name__ == "ChatMessage"]
            assert len(chats) == 1

    asyncio.run(scenario())


def test_wss_with_the_tls_certificate(tmp_path):
    import trustme

    from tests.tls_support import issue, tls_settings, trusting

    ca = trustme.CA()
    cert, key = issue(ca, tmp_path)

    async def scenario():
        async with running_server(http_port=-1, **tls_settings(cert, key)) as server:
            port = web_port(server)
            ws = await ws_client(port, ssl=trusting(ca), server_hostname="localhost")
            await send(ws, {"type": "join", "username": "alice"})
            assert (await receive(ws))["type"] == "welcome"
            plain = await LineClient.connect(port)  # plain HTTP on the HTTPS port: no answer
            await plain.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert await plain.closed()

    asyncio.run(scenario())


def test_a_flood_of_unfinished_requests_is_bounded():
    async def scenario():
        async with running_server(http_port=-1) as server:
            port = web_port(server)
            alice = await joined_ws(port, "alice")
            listener = server.web_listener
            assert listener is not None
            listener.max_pending = 5
            idle = [await LineClient.connect(port) for _ in range(5)]
            await asyncio.sleep(0.1)
            refused = await LineClient.connect(port)
            assert await refused.closed(timeout=2)  # at once, not after HTTP_TIMEOUT
            assert listener.refused >= 1
            await send(alice, {"type": "chat", "message": "unaffected"})
            assert (await until(alice, "chat"))["message"] == "unaffected"
            for client in idle:
                await client.close()
            await asyncio.sleep(0.1)
            await chat_still_works(port)  # room again for requests

    asyncio.run(scenario())
