"""The TLS port: the main port's front end over TLS 1.2+, beside plain TCP; certificate
reloads; what a bad or silent peer on the TLS port gets; shutdown over TLS."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import trustme

from chinwag.cli import main
from chinwag.config import ServerConfig, load_config
from chinwag.errors import ConfigError
from chinwag.server.app import ChatServer
from tests.helpers import TIMEOUT, LineClient, free_port, running_server, wait_for_port
from tests.tls_support import (
    file_fingerprint,
    issue,
    peer_fingerprint,
    tls_client,
    tls_settings,
    trusting,
)


def old_client(ca: trustme.CA, version: ssl.TLSVersion) -> ssl.SSLContext:
    """A client that offers only `version` (OpenSSL 3 offers nothing below TLS 1.2 unless
    its security level is lowered)."""
    context = trusting(ca)
    with warnings.catch_warnings():  # setting the old versions is deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def handshake(port: int, context: ssl.SSLContext) -> str:
    """A blocking handshake (run in a thread): its TLS version, or the SSLError it met.
    Blocking sockets report the server's alert; an asyncio client sees only the close."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def test_a_tls_client_and_a_plain_client_chat_in_one_room(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        async with running_server(**tls_settings(*issue(ca, tmp_path))) as server:
            assert server.tls_port is not None and server.tls_port != server.port
            alice = await tls_client(server.tls_port, trusting(ca))
            await alice.join("alice")
            bob = await LineClient.connect(server.port)
            await bob.join("bob")
            await alice.send({"type": "chat", "message": "hi"})
            for client in (alice, bob):
                said = await client.until("chat")
                assert (said["username"], said["message"]) == ("alice", "hi")
            await bob.send({"type": "chat", "message": "hello over tcp"})
            assert (await alice.until("chat"))["message"] == "hello over tcp"
            assert sorted(c.name for c in server.connections) == ["alice", "bob"]
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_a_seed_dialect_is_detected_over_tls(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        async with running_server(**tls_settings(*issue(ca, tmp_path))) as server:
            alice = await LineClient.connect(server.port)
            await alice.join("alice")
            assert server.tls_port is not None
            nc = await tls_client(server.tls_port, trusting(ca))
            await nc.send_line("Hello World")
            said = await alice.until("chat")
            assert said["message"] == "Hello World" and said["username"].startswith("Client ")
            assert "Welcome to chinwag" in await nc.text()
            await alice.send({"type": "chat", "message": "back to you"})
            while "back to you" not in (line := await nc.text()):
                assert not line.startswith("alice:"), line
            assert line == "alice: back to you"
            assert sorted(c.codec.dialect for c in server.connections) == ["native", "plain"]
            await nc.close()
            await alice.close()

    asyncio.run(scenario())


def test_tls_1_1_and_older_are_refused(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        async with running_server(**tls_settings(*issue(ca, tmp_path))) as server:
            assert server.tls_port is not None
            for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
                with pytest.raises(ssl.SSLError) as refused:
                    await asyncio.to_thread(handshake, server.tls_port, old_client(ca, version))
                # The server hung up on the hello (uvloop drops its alert), rather than our
                # OpenSSL refusing to send one ("no protocols available").
                assert isinstance(refused.value, ssl.SSLEOFError) or "PROTOCOL_VERSION" in str(
                    refused.value
                ).upper().replace(" ", "_"), refused.value
            # The same client offering TLS 1.2 gets in: only the version was refused.
            tls_1_2 = old_client(ca, ssl.TLSVersion.TLSv1_2)
            assert await asyncio.to_thread(handshake, server.tls_port, tls_1_2) == "TLSv1.2"
            modern = await tls_client(server.tls_port, trusting(ca))
            assert modern.writer.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
            await modern.join("alice")
            await modern.close()

    asyncio.run(scenario())


def test_reload_serves_the_new_certificate_to_new_connections_only(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        cert, key = issue(ca, tmp_path)
        first = file_fingerprint(cert)
        async with running_server(**tls_settings(cert, key)) as server:
            assert server.tls is not None and server.tls_port is not None
            alice = await tls_client(server.tls_port, trusting(ca))
            await alice.join("alice")
            assert peer_fingerprint(alice) == first == server.tls.fingerprint
            new_cert, new_key = issue(ca, tmp_path, "renewed")
            cert.write_bytes(new_cert.read_bytes())
            key.write_bytes(new_key.read_bytes())
            assert server.tls.reload()
            second = file_fingerprint(cert)
            assert second != first and server.tls.fingerprint == second
            bob = await tls_client(server.tls_port, trusting(ca))
            assert peer_fingerprint(bob) == second
            await bob.join("bob")
            await alice.send({"type": "chat", "message": "still here"})
            for client in (alice, bob):
                assert (await client.until("chat"))["message"] == "still here"
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("damage", ["garbage", "mismatched key", "missing"])
def test_a_reload_that_fails_keeps_the_old_certificate(
    ca: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
):
    async def scenario():
        cert, key = issue(ca, tmp_path)
        first = file_fingerprint(cert)
        async with running_server(**tls_settings(cert, key)) as server:
            assert server.tls is not None and server.tls_port is not None
            if damage == "garbage":
                cert.write_text("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
            elif damage == "mismatched key":  # a new certificate, the old key
                cert.write_bytes(issue(ca, tmp_path, "other")[0].read_bytes())
            else:
                key.unlink()
            with caplog.at_level(logging.ERROR, logger="chinwag.server"):
                assert not server.tls.reload()
            assert "still serving the old one" in caplog.text
            assert "PRIVATE KEY" not in caplog.text
            alice = await tls_client(server.tls_port, trusting(ca))
            assert peer_fingerprint(alice) == first
            await alice.join("alice")
            await alice.close()

    asyncio.run(scenario())


def test_plain_text_on_the_tls_port_is_closed_and_hurts_nobody(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        async with running_server(**tls_settings(*issue(ca, tmp_path))) as server:
            assert server.tls_port is not None
            alice = await tls_client(server.tls_port, trusting(ca))
            await alice.join("alice")
            raw = await LineClient.connect(server.tls_port)
            await raw.send_raw(b'{"type": "join", "username": "mallory"}\n')
            with pytest.raises((EOFError, ConnectionError)):
                while True:  # whatever the server says (an alert, maybe) is not a welcome
                    assert b"welcome" not in await raw.line()
            await raw.close()
            await alice.send({"type": "chat", "message": "unharmed"})
            assert (await alice.until("chat"))["message"] == "unharmed"
            assert [c.name for c in server.connections] == ["alice"]
            bob = await LineClient.connect(server.port)
            await bob.join("bob")
            await bob.close()
            await alice.close()

    asyncio.run(scenario())


def test_a_handshake_that_never_comes_is_closed(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        settings = tls_settings(*issue(ca, tmp_path))
        async with running_server(tls_handshake_timeout=0.2, **settings) as server:
            assert server.tls_port is not None
            silent = await LineClient.connect(server.tls_port)  # connects, says nothing
            alice = await tls_client(server.tls_port, trusting(ca))  # the loop is not held
            await alice.join("alice")
            assert await silent.closed()
            await alice.send({"type": "chat", "message": "fine"})
            assert (await alice.until("chat"))["message"] == "fine"
            await alice.close()

    asyncio.run(scenario())


def test_a_tls_client_that_stops_reading_is_dropped(
    ca: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """The output bound holds over TLS: what waits encrypted in the TLS layer counts."""

    async def scenario():
        settings = tls_settings(*issue(ca, tmp_path))
        async with running_server(
            max_buffer=256 * 1024, message_rate=0, command_rate=0, **settings
        ) as server:
            assert server.tls_port is not None
            alice = await LineClient.connect(server.port)
            await alice.join("alice")
            sloth = await tls_client(server.tls_port, trusting(ca))
            await sloth.join("sloth")
            await alice.until("user_joined")
            sloth.writer.transport.pause_reading()  # type: ignore[attr-defined]
            big = "x" * 60_000
            for i in range(400):  # bounded: at most 24 MB through loopback
                await alice.send({"type": "chat", "message": f"{i} {big}"})
                reply = await alice.until("chat", skip=frozenset({"user_left"}))
                assert reply["message"].startswith(f"{i} ")
                if "sloth" not in {c.name for c in server.connections}:
                    break
            else:
                pytest.fail("the TLS client that stopped reading was never dropped")
            await alice.send({"type": "chat", "message": "still served"})
            assert (await alice.until("chat"))["message"] == "still served"
            await alice.close()
            await sloth.close()

    with caplog.at_level(logging.WARNING, logger="chinwag.server"):
        asyncio.run(scenario())
    assert "dropped sloth: send buffer overflow: client is not reading" in caplog.text


def test_a_tls_client_that_closes_first_is_let_go_quietly(
    ca: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Over TLS the peer's close_notify ends the connection whatever the protocol answers;
    asking to stay half-open would only make asyncio warn."""

    async def scenario():
        async with running_server(**tls_settings(*issue(ca, tmp_path))) as server:
            assert server.tls_port is not None
            bob = await LineClient.connect(server.port)
            await bob.join("bob")
            alice = await tls_client(server.tls_port, trusting(ca))
            await alice.join("alice")
            await bob.until("user_joined")
            with caplog.at_level(logging.WARNING):
                await alice.close()
                left = await bob.until("user_left", skip=frozenset())
            assert left["username"] == "alice"
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
            await bob.close()

    asyncio.run(scenario())


def test_shutdown_with_tls_clients_connected_says_goodbye_and_ends(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        settings = tls_settings(*issue(ca, tmp_path))
        async with running_server(shutdown_grace=60.0, **settings) as server:
            assert server.tls_port is not None
            alice = await tls_client(server.tls_port, trusting(ca))
            await alice.join("alice")
            await alice.send({"type": "chat", "message": "last words"})
            assert (await alice.until("chat"))["message"] == "last words"
            stuck = await LineClient.connect(server.tls_port)  # mid-handshake forever
            # Bounded far below shutdown_grace: it ends because everyone is done.
            stopping = asyncio.create_task(server.shutdown())
            goodbye = await alice.until("goodbye")
            assert "shutting down" in goodbye["message"].lower()
            assert await alice.closed()
            await asyncio.wait_for(stopping, TIMEOUT)
            assert not server.connections
            await alice.close()
            await stuck.close()

    asyncio.run(scenario())


def test_sighup_reloads_the_certificate_of_a_running_server(ca: trustme.CA, tmp_path: Path):
    port, tls_port = free_port(), free_port()
    cert, key = issue(ca, tmp_path)
    first = file_fingerprint(cert)
    proc = subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", ":memory:",
         "--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", str(tls_port)],
        stderr=subprocess.PIPE,
    )  # fmt: skip

    async def scenario():
        await wait_for_port(tls_port, proc)
        alice = await tls_client(tls_port, trusting(ca))
        await alice.join("alice")
        assert peer_fingerprint(alice) == first
        renewed_cert, renewed_key = issue(ca, tmp_path, "renewed")
        cert.write_bytes(renewed_cert.read_bytes())
        key.write_bytes(renewed_key.read_bytes())
        second = file_fingerprint(cert)
        proc.send_signal(signal.SIGHUP)
        async with asyncio.timeout(TIMEOUT):  # until a new handshake shows the new one
            while True:
                probe = await tls_client(tls_port, trusting(ca))
                seen = peer_fingerprint(probe)
                await probe.close()
                if seen == second:
                    break
                assert seen == first
                await asyncio.sleep(0.02)
        await alice.send({"type": "chat", "message": "renewed under my feet"})
        assert (await alice.until("chat"))["message"] == "renewed under my feet"
        proc.send_signal(signal.SIGTERM)
        await alice.until("goodbye")
        assert await alice.closed()

    try:
        asyncio.run(scenario())
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read().decode() if proc.stderr else ""
    assert f"started on 127.0.0.1:{tls_port} (auto, TLS)" in log, log
    assert f"TLS: reloaded {cert}, SHA-256 fingerprint {file_fingerprint(cert)}" in log, log
    assert "PRIVATE KEY" not in log


# ---------------------------------------------------------------------- settings


def test_tls_needs_both_the_certificate_and_the_key():
    for given in ({"tls_cert": "c.pem"}, {"tls_key": "k.pem"}):
        with pytest.raises(ConfigError, match="needs both the certificate and its key"):
            load_config(environ={}, overrides=given)
    env = {"CHINWAG_TLS_CERT": "c.pem", "CHINWAG_TLS_KEY": "k.pem", "CHINWAG_TLS_PORT": "7000"}
    config = load_config(environ=env)
    assert config.tls_files() == ("c.pem", "k.pem") and config.tls_port == 7000
    assert load_config(environ={}).tls_files() is None
    assert load_config(environ={}).tls_port == 6697


def test_serve_with_a_certificate_and_no_key_exits_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
):
    assert main(["serve", "--data", ":memory:", "--tls-cert", "cert.pem"]) == 2
    error = capsys.readouterr().err
    assert "tls_cert is set but tls_key is not" in error and "--tls-key FILE" in error


def test_the_tls_port_cannot_be_a_plain_port():
    with pytest.raises(ConfigError, match="also a plain-text port"):
        load_config(environ={}, overrides={"tls_cert": "c", "tls_key": "k", "tls_port": 12345})


def test_a_certificate_that_does_not_load_stops_the_server_at_start(ca: trustme.CA, tmp_path: Path):
    async def scenario():
        cert, _key = issue(ca, tmp_path)
        config = ServerConfig(port=0, data=":memory:", tls_cert=str(cert), tls_port=0)
        config.tls_key = str(tmp_path / "missing.pem")
        with pytest.raises(ConfigError, match="cannot use TLS certificate"):
            ChatServer(config)
        config.tls_key = None
        with pytest.raises(ConfigError, match="needs both"):
            ChatServer(config)

    asyncio.run(scenario())
