"""Files over HTTP (POST /api/files, GET /api/files/ROOM/ID), real sockets, real server."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import orjson

from tests.helpers import LineClient, running_server
from tests.web.support import receive, send, until, web_port, ws_client


async def register(port: int, name: str) -> tuple[Any, str]:
    ws = await ws_client(port)
    await send(ws, {"type": "register", "username": name, "password": "correct horse battery"})
    welcome = await receive(ws)
    assert welcome["type"] == "welcome" and welcome["token"], welcome
    return ws, welcome["token"]


async def http(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    client = await LineClient.connect(port)
    await client.send_raw(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    data = await asyncio.wait_for(client.reader.read(), 5)
    await client.close()
    raw_head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *lines = raw_head.decode().split("\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines)}
    return int(status_line.split(" ")[1]), headers, payload


async def upload(
    port: int, token: str | None, body: bytes, *, room: str = "general", name: str = "f.txt",
    media_type: str = "text/plain",
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    auth = f"Authorization: Bearer {token}\n" if token else ""
    head = (
        f"POST /api/files?room={room}&name={name} HTTP/1.1\nHost: 127.0.0.1:{port}\n{auth}"
        f"Content-Type: {media_type}\nContent-Length: {len(body)}\n"
    )
    return await http(port, head, body)


async def download(port: int, url: str, token: str | None) -> tuple[int, dict[str, str], bytes]:
    path = "/" + url.split("/", 3)[3]
    auth = f"Authorization: Bearer {token}\n" if token else ""
    return await http(port, f"GET {path} HTTP/1.1\nHost: 127.0.0.1:{port}\n{auth}")


def test_an_upload_becomes_a_file_message_for_every_front_end_and_members_download_it(
    tmp_path: Path,
):
    async def scenario():
        async with running_server(tmp_path, http_port=-1) as server:
            port = web_port(server)
            alice, token = await register(port, "alice")
            native = await LineClient.connect(server.port)
            await native.join("bob")
            plain = await LineClient.connect(server.port)
            await plain.send_line("/nick carol")
            body = b"meeting notes\n" * 100
            status, _, answer = await upload(port, token, body, name="notes%20%C3%A9t%C3%A9.txt")
            assert status == 201, answer
            info = orjson.loads(answer)
            assert info["name"] == "notes été.txt" and info["size"] == len(body)
            assert info["sha256"] == hashlib.sha256(body).hexdigest()
            shared = await until(alice, "file")
            assert (
                shared["url"]
                == info["url"]
                == (f"http://127.0.0.1:{port}/api/files/general/{info['id']}")
            )
            assert shared["media_type"] == "text/plain" and shared["username"] == "alice"
            assert (await native.until("file"))["id"] == info["id"]
            while "shared a file" not in (line := await plain.text()):
                pass
            assert line == f"*** alice shared a file: notes été.txt (1.4 KB) {info['url']}"
            # On disk once, by content hash.
            digest = info["sha256"]
            assert (tmp_path / "files" / digest[:2] / digest).read_bytes() == body
            # A member downloads it: bytes as uploaded, as an attachment, never sniffed.
            status, headers, data = await download(port, info["url"], token)
            assert status == 200 and data == body
            assert headers["content-type"] == "application/octet-stream"
            assert headers["content-disposition"].startswith('attachment; filename="notes t.txt"')
            assert "filename*=UTF-8''notes%20%C3%A9t%C3%A9.txt" in headers["content-disposition"]
            assert headers["x-content-type-options"] == "nosniff"
            assert "sandbox" in headers["content-security-policy"]
            # It is part of the room's history.
            await send(alice, {"type": "history", "room": "general"})
            page = await until(alice, "history")
            assert [m["type"] for m in page["messages"]][-1] == "file"

    asyncio.run(scenario())


def test_html_is_never_served_as_html_and_images_are_shown_inline():
    async def scenario():
        async with running_server(http_port=-1) as server:
            port = web_port(server)
            _, token = await register(port, "alice")
            page = b"<script>alert(1)</script>"
            for media_type in ("text/html", "image/svg+xml", "text/html; charset=utf-8"):
                status, _, answer = await upload(port, token, page, media_type=media_type)
                assert status == 201
                status, headers, data = await download(port, orjson.loads(answer)["url"], token)
                assert headers["content-type"] == "application/octet-stream", media_type
                assert headers["content-disposition"].startswith("attachment")
            png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 50
            status, _, answer = await upload(port, token, png, media_type="image/png", name="a.png")
            status, headers, data = await download(port, orjson.loads(answer)["url"], token)
            assert headers["content-type"] == "image/png" and data == png
            assert headers["content-disposition"].startswith("inline")

    asyncio.run(scenario())


def test_who_may_upload_and_download():
    async def scenario():
        async with running_server(http_port=-1, max_file_size=1000) as server:
            port = web_port(server)
            alice, token = await register(port, "alice")
            bob, bob_token = await register(port, "bob")
            assert (await upload(port, None, b"x"))[0] == 401
            assert (await upload(port, "not-a-token", b"x"))[0] == 401
            assert (await upload(port, token, b"x", room="elsewhere"))[0] == 403
            # Too big: refused from the head, before the body is sent.
            head = (
                f"POST /api/files?room=general&name=big HTTP/1.1\nHost: x\n"
                f"Authorization: Bearer {token}\nContent-Length: 5000\n"
            )
            status, _, text = await http(port, head)
            assert status == 413 and b"1,000" in text
            assert (await http(port, "POST /api/files HTTP/1.1\nHost: x\n"))[0] == 411
            # A file in a room bob is not in: alice downloads, bob may not.
            await send(alice, {"type": "join_room", "room": "secret"})
            await until(alice, "join_room")
            status, _, answer = await upload(port, token, b"secret plans", room="secret")
            assert status == 201
            url = orjson.loads(answer)["url"]
            assert (await download(port, url, token))[0] == 200
            assert (await download(port, url, bob_token))[0] == 403
            assert (await download(port, url, None))[0] == 401
            missing = url.rsplit("/", 1)[0] + "/999999"
            assert (await download(port, missing, token))[0] == 404
            await bob.close()

    asyncio.run(scenario())


def test_an_upload_cut_short_leaves_nothing(tmp_path: Path):
    async def scenario():
        async with running_server(tmp_path, http_port=-1) as server:
            port = web_port(server)
            alice, token = await register(port, "alice")
            client = await LineClient.connect(port)
            await client.send_raw(
                f"POST /api/files?room=general&name=half HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n".encode()
                + b"x" * 1000
            )
            await asyncio.sleep(0.1)
            await client.close()
            await asyncio.sleep(0.2)
            assert list((tmp_path / "files" / "incoming").iterdir()) == []
            await send(alice, {"type": "ping", "token": "after"})
            assert (await until(alice, "pong"))["token"] == "after"  # and no file message

    asyncio.run(scenario())


def test_downloads_are_streamed_and_a_reader_that_stops_is_cut(monkeypatch):
    from chinwag.server import websocket as web_connection

    monkeypatch.setattr(web_connection, "HTTP_TIMEOUT", 0.5)

    async def scenario():
        async with running_server(http_port=-1) as server:
            port = web_port(server)
            alice, token = await register(port, "alice")
            body = bytes(range(256)) * (40 * 1024)  # 10 MB
            status, _, answer = await upload(port, token, body, name="big.bin")
            assert status == 201
            await until(alice, "file")
            url = orjson.loads(answer)["url"]
            status, headers, data = await download(port, url, token)
            assert status == 200 and int(headers["content-length"]) == len(body)
            assert data == body
            # A client that asks and never reads: cut once nothing moves for HTTP_TIMEOUT,
            # with at most a few MB waiting for it, and the chat is not held up.
            path = "/" + url.split("/", 3)[3]
            stuck = await LineClient.connect(port)
            stuck.writer.transport.pause_reading()  # type: ignore[attr-defined]
            await stuck.send_raw(
                f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
            )
            await send(alice, {"type": "chat", "message": "meanwhile"})
            assert (await until(alice, "chat", timeout=2))["message"] == "meanwhile"
            await asyncio.sleep(1.5)
            stuck.writer.transport.resume_reading()  # type: ignore[attr-defined]
            received = 0
            try:
                while chunk := await asyncio.wait_for(stuck.reader.read(1 << 20), 5):
                    received += len(chunk)
            except ConnectionResetError:
                pass
            assert 0 < received < len(body)

    asyncio.run(scenario())


def test_a_deleted_file_is_a_tombstone_and_is_no_longer_served(tmp_path: Path):
    async def scenario():
        async with running_server(tmp_path, http_port=-1) as server:
            port = web_port(server)
            alice, token = await register(port, "alice")
            bob, bob_token = await register(port, "bob")
            await until(alice, "user_joined")
            status, _, answer = await upload(port, token, b"oops", name="oops.txt")
            assert status == 201
            info = orjson.loads(answer)
            assert (await until(bob, "file"))["id"] == info["id"]
            await until(alice, "file")
            await send(bob, {"type": "delete_message", "id": info["id"]})
            assert (await until(bob, "error"))["code"] == "forbidden"  # not bob's file
            await send(alice, {"type": "delete_message", "id": info["id"]})
            assert (await until(bob, "deleted"))["id"] == info["id"]
            assert (await download(port, info["url"], bob_token))[0] == 404
            await send(bob, {"type": "history", "room": "general"})
            page = await until(bob, "history")
            (shared,) = [m for m in page["messages"] if m["type"] == "file"]
            assert shared["deleted"] is True and shared["name"] == "" and "sha256" not in shared

    asyncio.run(scenario())
