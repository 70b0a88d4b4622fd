"""The client over TLS: CA verification, pinning on first use (known_hosts), refusing a
changed certificate before anything is sent, and `chinwag chat --tls` end to end."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
import trustme

from chinwag.certs import SelfSigned, write_self_signed
from chinwag.client.library import ChatClient
from chinwag.client.status import Closed, Disconnected, Reconnecting, ReconnectPolicy
from chinwag.client.trust import (
    CertificateChanged,
    TlsOptions,
    address,
    format_entry,
    judge,
    known_hosts_path,
    parse_known_hosts,
    read_known_hosts,
    remember,
)
from chinwag.protocol import events as ev
from chinwag.server.app import ChatServer
from tests.client.support import expect
from tests.client.test_line import ChatProcess
from tests.helpers import TIMEOUT, running_server
from tests.tls_support import issue, tls_settings

NO_RECONNECT = ReconnectPolicy(enabled=False)
A = "AA:" * 31 + "AA"
B = "BB:" * 31 + "BB"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def serving(made: SelfSigned) -> dict[str, Any]:
    return tls_settings(made.cert, made.key)


def replace_certificate(server: ChatServer, made: SelfSigned) -> None:
    """The server's certificate files now hold `made`; loaded as on SIGHUP."""
    assert server.tls is not None
    shutil.copyfile(made.cert, server.tls.cert)
    shutil.copyfile(made.key, server.tls.key)
    assert server.tls.reload()


def joined(server: ChatServer) -> list[str]:
    """Who is in (a refused client's connection may still be closing, never joined)."""
    return sorted(c.session.name for c in server.connections if c.session and c.session.name)


class Notes:
    def __init__(self) -> None:
        self.said: list[str] = []

    def __call__(self, text: str) -> None:
        self.said.append(text)


# ---------------------------------------------------------------------- the file, alone


def test_known_hosts_path_follows_the_environment(tmp_path: Path):
    assert known_hosts_path({"CHINWAG_CONFIG_HOME": "/c"}) == Path("/c/known_hosts")
    assert known_hosts_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/chinwag/known_hosts")
    assert known_hosts_path({}) == Path.home() / ".config" / "chinwag" / "known_hosts"


def test_known_hosts_lines_parse_and_compare():
    assert address("Chat.Example", 6697) == "chat.example:6697"
    assert address("::1", 6697) == "[::1]:6697"
    text = "# pins\n\nchat.example:6697 " + A.lower() + "\nnonsense\n" + format_entry("x:1", B)
    text += "chat.example:6697 " + B + "\n"  # a second line for the same server: the first counts
    pins = parse_known_hosts(text)
    assert pins == {"chat.example:6697": (A, 3), "x:1": (B, 5)}
    assert judge(pins, "chat.example:6697", A) == "same"
    assert judge(pins, "chat.example:6697", B) == "changed"
    assert judge(pins, "new:1", A) == "new"
    assert judge(pins, "new:1", A, pinned=B) == "changed"  # what this client saw first wins
    assert judge(pins, "chat.example:6697", B, pinned=B) == "same"


def test_remember_makes_private_files_and_appends(tmp_path: Path):
    path = tmp_path / "config" / "known_hosts"
    remember(path, "a:1", A)
    assert mode(path.parent) == 0o700 and mode(path) == 0o600
    path.write_text(path.read_text() + "# no newline at the end")
    remember(path, "b:2", B)
    assert read_known_hosts(path) == {"a:1": (A, 1), "b:2": (B, 3)}
    assert read_known_hosts(tmp_path / "missing") == {}


# ---------------------------------------------------------------------- against a server


def test_first_use_pins_the_same_certificate_connects_a_changed_one_is_refused(tmp_path: Path):
    async def scenario():
        made = write_self_signed(tmp_path / "data", "localhost")
        known = tmp_path / "config" / "known_hosts"
        notes = Notes()
        options = TlsOptions(known_hosts=known, notify=notes)
        async with running_server(**serving(made)) as server:
            port = server.tls_port
            assert port is not None
            alice = ChatClient(reconnect=NO_RECONNECT, tls=options)
            welcome = await alice.connect("127.0.0.1", port, "alice")
            assert welcome.username == "alice"
            [warning] = notes.said
            assert made.fingerprint in warning and "first TLS connection" in warning
            assert str(known) in warning
            assert read_known_hosts(known) == {f"127.0.0.1:{port}": (made.fingerprint, 1)}
            assert mode(known) == 0o600 and mode(known.parent) == 0o700
            assert alice.tls_fingerprint == made.fingerprint
            await alice.chat("over tls")
            assert (await expect(alice, ev.ChatMessage)).message == "over tls"

            bob = ChatClient(reconnect=NO_RECONNECT, tls=options)  # the same certificate
            await bob.connect("127.0.0.1", port, "bob")
            assert len(notes.said) == 1  # silently
            await expect(alice, ev.UserJoined)

            replace_certificate(server, write_self_signed(tmp_path / "other", "localhost"))
            carol = ChatClient(reconnect=NO_RECONNECT, tls=options)
            with pytest.raises(CertificateChanged) as refused:
                await carol.connect("127.0.0.1", port, "carol")
            message = str(refused.value)
            assert "CHANGED" in message and "intercepting" in message
            assert f"remove line 1 (127.0.0.1:{port}) of\n{known}." in message
            assert made.fingerprint in message
            assert len(notes.said) == 1
            assert joined(server) == ["alice", "bob"]  # carol never said her name
            assert len(read_known_hosts(known)) == 1  # the pin is not replaced
            for client in (alice, bob):
                await client.close()

    asyncio.run(scenario())


def test_a_changed_certificate_hears_nothing_from_the_client(tmp_path: Path):
    """Not even the join: the streams are handed over only after the pin matched."""

    async def scenario():
        made = write_self_signed(tmp_path, "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(made.cert, made.key)
        heard: list[bytes] = []
        done = asyncio.Event()

        async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                heard.append(await reader.read())
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()
                done.set()

        server = await asyncio.start_server(record, "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        known = tmp_path / "known_hosts"
        known.write_text(format_entry(address("127.0.0.1", port), A))
        client = ChatClient(reconnect=NO_RECONNECT, tls=TlsOptions(known_hosts=known))
        with pytest.raises(CertificateChanged):
            await client.connect("127.0.0.1", port, "alice")
        await asyncio.wait_for(done.wait(), TIMEOUT)
        assert heard in ([], [b""]), heard
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_a_ca_vouches_without_pinning_and_a_wrong_name_is_refused(tmp_path: Path):
    async def scenario():
        ca = trustme.CA()
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        known = tmp_path / "config" / "known_hosts"
        notes = Notes()
        options = TlsOptions(ca=str(ca_file), known_hosts=known, notify=notes)
        async with running_server(**tls_settings(*issue(ca, tmp_path))) as server:
            port = server.tls_port
            assert port is not None
            alice = ChatClient(reconnect=NO_RECONNECT, tls=options)
            await alice.connect("127.0.0.1", port, "alice")
            assert notes.said == [] and not known.exists()
            await alice.close()
            # Without --ca the CA is unknown: then the certificate is pinned like any other.
            unknown_ca = TlsOptions(known_hosts=known, notify=notes)
            bob = ChatClient(reconnect=NO_RECONNECT, tls=unknown_ca)
            await bob.connect("127.0.0.1", port, "bob")
            assert len(notes.said) == 1 and known.exists()
            await bob.close()

        # A certificate the CA issued for another name: not a pinning matter, refused.
        other = ca.issue_cert("elsewhere.example")
        cert, key = tmp_path / "other.crt", tmp_path / "other.key"
        other.cert_chain_pems[0].write_to_path(str(cert))
        other.private_key_pem.write_to_path(str(key))
        async with running_server(**tls_settings(cert, key)) as server:
            assert server.tls_port is not None
            carol = ChatClient(reconnect=NO_RECONNECT, tls=options)
            with pytest.raises(ssl.SSLCertVerificationError, match="match"):
                await carol.connect("127.0.0.1", server.tls_port, "carol")
            assert joined(server) == [] and len(notes.said) == 1

    asyncio.run(scenario())


def test_reconnecting_keeps_the_pin_and_stops_at_a_changed_certificate(tmp_path: Path):
    async def scenario():
        made = write_self_signed(tmp_path / "data", "localhost")
        options = TlsOptions(known_hosts=tmp_path / "known_hosts", notify=Notes())
        fast = ReconnectPolicy(max_attempts=50, initial_delay=0.01, max_delay=0.05)
        async with running_server(**serving(made)) as server:
            assert server.tls_port is not None
            alice = ChatClient(reconnect=fast, tls=options)
            await alice.connect("127.0.0.1", server.tls_port, "alice")
            replace_certificate(server, write_self_signed(tmp_path / "other", "localhost"))
            # Forget the file: the client still holds the certificate it first saw.
            (tmp_path / "known_hosts").unlink()
            [conn] = server.connections
            conn.abort("test: cut")
            assert (await expect(alice, Disconnected)).reconnecting
            while isinstance(event := await alice.receive(), Reconnecting):
                pass
            assert isinstance(event, Closed) and not event.by_user, event
            assert "CHANGED" in event.reason and "start it again" in event.reason
            assert joined(server) == []
            await alice.close()

    asyncio.run(scenario())


def test_chinwag_chat_tls_pins_then_refuses_a_changed_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config_home = tmp_path / "config"
    monkeypatch.setenv("CHINWAG_CONFIG_HOME", str(config_home))  # the children inherit it

    async def scenario():
        made = write_self_signed(tmp_path / "data", "localhost")
        async with running_server(**serving(made)) as server:
            port = str(server.tls_port)
            alice = await ChatProcess.start("--tls", "--host", "127.0.0.1", "--port", port,
                                            "--user", "alice")  # fmt: skip
            try:
                await alice.expect("first TLS connection to 127.0.0.1:" + port)
                await alice.expect(made.fingerprint)
                await alice.expect("Welcome to chinwag, alice!")
                await alice.send("/quit")
                assert await alice.exit_code() == 0
            finally:
                await alice.stop()
            pin = (config_home / "known_hosts").read_text().split()
            assert pin == [f"127.0.0.1:{port}", made.fingerprint]
            replace_certificate(server, write_self_signed(tmp_path / "other", "localhost"))
            bob = await ChatProcess.start("--tls", "--host", "127.0.0.1", "--port", port,
                                          "--user", "bob")  # fmt: skip
            try:
                await bob.expect("THE SERVER'S CERTIFICATE HAS CHANGED")
                assert await bob.exit_code() != 0
                assert not any("Welcome" in line for line in bob.transcript)
                assert joined(server) == []
            finally:
                await bob.stop()

    asyncio.run(scenario())
