"""The load-balancer configurations in deploy/ are valid, and HAProxy's works: in front of two
nodes on 127.0.0.1 it carries chat (plain and TLS it terminates), the page's /health, and
a node stopped costs its clients a reconnect through the balancer to the other node, with
`since`, not a message.

The files are the ones in the repository, with only addresses, ports, certificate paths and
check intervals put in (`localized`). HAProxy and nginx are not in CI's packages: these
tests skip without them (Debian: apt-get install haproxy nginx-light libnginx-mod-stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest
import trustme

from chinwag.client.library import ChatClient
from chinwag.client.status import Disconnected, Reconnected, ReconnectPolicy
from chinwag.client.trust import TlsOptions
from chinwag.protocol import events as ev
from chinwag.server.app import ChatServer
from tests.client.support import collect, expect
from tests.client.test_reconnect import GatedClient
from tests.helpers import TIMEOUT, LineClient, free_port, needs_service, node_pair, wait_for_port
from tests.tls_support import issue

DEPLOY = Path(__file__).parents[2] / "deploy"
HOST = "127.0.0.1"


def needs(program: str) -> str:
    """The program's path; skip without it (fail under CI=true: .ci/install-browser
    installs it there)."""
    found = shutil.which(program)
    needs_service(
        found is not None, f"{program} is not installed (Debian: apt-get install {program})"
    )
    assert found is not None
    return found


@pytest.fixture
def pem(tmp_path: Path) -> Iterator[tuple[trustme.CA, Path, Path]]:
    """A throwaway CA, and a certificate for 127.0.0.1 from it: (ca, cert file, key file)."""
    ca = trustme.CA()
    cert, key = issue(ca, tmp_path)
    yield ca, cert, key


class Ports:
    def __init__(self) -> None:
        self.chat, self.irc, self.tls, self.http, self.https = (free_port() for _ in range(5))


def localized(nodes: list[ChatServer], ports: Ports, cert: Path, key: Path, folder: Path) -> Path:
    """deploy/haproxy.cfg with loopback addresses, free ports, the test's certificate and
    checks every 100 ms (a third node's lines dropped: there are two)."""
    pem = folder / "haproxy.pem"
    pem.write_text(cert.read_text() + key.read_text())
    text = (DEPLOY / "haproxy.cfg").read_text()
    text = text.replace("    log /dev/log local0\n", "")
    text = text.replace("/etc/haproxy/certs/chat.example.pem", str(pem))
    text = re.sub(r"maxconn \d+", "maxconn 1000", text)
    text = text.replace("inter 2s fall 2 rise 2", "inter 100ms fall 1 rise 1")
    for public, port in ((":12345", ports.chat), (":6667", ports.irc), (":6697", ports.tls),
                         (":80", ports.http), (":443", ports.https)):  # fmt: skip
        text = text.replace(f"    bind {public}\n", f"    bind {HOST}:{port}\n")
        text = text.replace(f"    bind {public} ", f"    bind {HOST}:{port} ")
    for number, node in enumerate(nodes, 1):
        web = node.http_port
        text = text.replace(
            f"10.0.0.1{number}:12345\n", f"{HOST}:{node.port} port {web}\n"
        ).replace(f"10.0.0.1{number}:8080\n", f"{HOST}:{web}\n")
    text = "\n".join(line for line in text.splitlines() if "10.0.0." not in line) + "\n"
    assert "bind :" not in text and "/etc/" not in text, text
    path = folder / "haproxy.cfg"
    path.write_text(text)
    return path


@contextlib.asynccontextmanager
async def balanced(
    tmp_path: Path, cert: Path, key: Path
) -> AsyncIterator[tuple[list[ChatServer], Ports]]:
    """Two nodes of one chat and HAProxy in front of them, running."""
    haproxy = needs("haproxy")
    async with node_pair(http_port=-1) as nodes:
        ports = Ports()
        config = localized(nodes, ports, cert, key, tmp_path)
        check = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True)
        assert check.returncode == 0, check.stderr.decode() + check.stdout.decode()
        proc = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "haproxy.log").open("wb"),
        )
        try:
            await wait_for_port(ports.chat, proc)
            yield nodes, ports
        finally:
            proc.terminate()
            proc.wait(10)


async def http_get(port: int, context: ssl.SSLContext | None = None) -> tuple[bytes, bytes]:
    """GET /health through the balancer: the answer's head and body."""
    reader, writer = await asyncio.open_connection(
        HOST, port, ssl=context, server_hostname=HOST if context else None
    )
    writer.write(b"GET /health HTTP/1.1\r\nHost: chat.example\r\nConnection: close\r\n\r\n")
    async with asyncio.timeout(TIMEOUT):
        answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


def node_of(nodes: list[ChatServer], name: str) -> ChatServer:
    """The node where `name` is signed in."""
    found = [n for n in nodes if any(c.name == name for c in n.connections)]
    assert len(found) == 1, found
    return found[0]


def test_haproxy_carries_chat_tls_and_health_to_both_nodes(
    tmp_path: Path, pem: tuple[trustme.CA, Path, Path]
) -> None:
    ca, cert, key = pem

    async def scenario() -> None:
        async with balanced(tmp_path, cert, key) as (nodes, ports):
            # leastconn deals the second client to the other node; they chat all the same.
            alice = await LineClient.connect(ports.chat)
            await alice.join("alice")
            bob = await LineClient.connect(ports.irc)  # the IRC port: the main port detects
            await bob.join("bob")
            assert node_of(nodes, "alice") is not node_of(nodes, "bob")
            await alice.send({"type": "chat", "message": "through the balancer"})
            echo = await alice.until("chat")
            assert await bob.until("chat") == echo

            # TLS ends at the balancer: the client checks the balancer's certificate.
            ca_file = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
            carol = ChatClient(tls=TlsOptions(ca=str(ca_file)))
            await carol.connect(HOST, ports.tls, "carol")
            await carol.chat("over TLS")
            assert (await alice.until("chat"))["message"] == "over TLS"
            await carol.close()

            # The page: http:// is sent to https://, where TLS ends at the balancer.
            head, _ = await http_get(ports.http)
            assert head.startswith(b"HTTP/1.1 301") and b"https://chat.example/" in head
            head, body = await http_get(ports.https, trusting_context(ca))
            assert head.startswith(b"HTTP/1.1 200"), head
            assert orjson.loads(body)["store"] == "ok"
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def trusting_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_a_node_stopped_behind_haproxy_costs_a_reconnect_not_a_message(
    tmp_path: Path, pem: tuple[trustme.CA, Path, Path]
) -> None:
    _ca, cert, key = pem

    async def scenario() -> None:
        async with balanced(tmp_path, cert, key) as (nodes, ports):
            alice = GatedClient()  # one address, the balancer's; holds its reconnect
            await alice.connect(HOST, ports.chat, "alice")
            bob = ChatClient(reconnect=ReconnectPolicy(enabled=False))
            await bob.connect(HOST, ports.chat, "bob")
            dying = node_of(nodes, "alice")
            assert node_of(nodes, "bob") is not dying
            await bob.chat("before")
            before = await expect(alice, ev.ChatMessage)

            await dying.shutdown()
            await expect(alice, ev.Goodbye)
            assert (await expect(alice, Disconnected)).reconnecting
            missed = [f"missed {i}" for i in range(5)]
            for text in missed:
                await bob.chat(text)
            await collect(bob, ev.ChatMessage, 1 + len(missed))  # echoed: stored
            alice.gate.set()
            back = await expect(alice, Reconnected, timeout=TIMEOUT * 2)
            assert back.since == before.id
            survivor = next(n for n in nodes if n is not dying)
            assert node_of(nodes, "alice") is survivor
            await bob.chat("live")
            got = await collect(alice, ev.ChatMessage, len(missed) + 1)
            assert [m.message for m in got] == [*missed, "live"]
            await alice.close()
            await bob.close()

    asyncio.run(scenario())


def test_the_nginx_configuration_is_valid(tmp_path: Path, pem: tuple[trustme.CA, Path, Path]):
    nginx = needs("nginx")
    module = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
    needs_service(
        module.exists(),
        "nginx's stream module is not installed (apt-get install libnginx-mod-stream)",
    )
    _ca, cert, key = pem
    text = (DEPLOY / "nginx-stream.conf").read_text()
    for old, new in (("/etc/nginx/certs/chat.example.crt", cert),
                     ("/etc/nginx/certs/chat.example.key", key),
                     ("/run/nginx-chinwag.pid", tmp_path / "nginx.pid"),
                     ("/var/log/nginx/chinwag-error.log", tmp_path / "error.log")):  # fmt: skip
        assert old in text
        text = text.replace(old, str(new))
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    result = subprocess.run(
        [nginx, "-t", "-c", str(config), "-e", str(tmp_path / "startup.log")],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"test is successful" in result.stderr


def test_the_systemd_units_are_valid(tmp_path: Path) -> None:
    analyze = needs("systemd-analyze")
    for name, instance in (("chinwag.service", "chinwag.service"),
                           ("chinwag@.service", "chinwag@node1.service")):  # fmt: skip
        text = (DEPLOY / name).read_text()
        assert "/opt/chinwag/bin/chinwag serve" in text
        (tmp_path / instance).write_text(text.replace("/opt/chinwag/bin/chinwag", "/bin/true"))
    result = subprocess.run(
        [analyze, "verify", "chinwag.service", "chinwag@node1.service"],
        capture_output=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr.decode()


def test_the_node_settings_file_is_valid() -> None:
    """deploy/chinwag.toml, with the store's address from the environment as documented."""
    from chinwag.config import load_config

    store = "postgresql://chinwag:secret@10.0.0.20/chinwag"
    config = load_config(file=DEPLOY / "chinwag.toml", environ={"CHINWAG_STORE": store})
    assert (config.workers, config.store, config.port, config.http_port) == (2, store, 12345, 8080)
    assert config.bus.startswith("nats://") and "10.0.0.5" in config.limits.limit_exempt
    assert config.http_origin == ("https://chat.example",)
