"""`chinwag serve` as a real process: start-up logging, graceful shutdown on signals."""

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import LineClient, free_port, wait_for_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_gracefully(tmp_path: Path, sig: signal.Signals):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", str(tmp_path)],
        stderr=subprocess.PIPE,
    )

    async def scenario():
        await wait_for_port(port, proc)
        alice = await LineClient.connect(port)
        await alice.join("alice")
        await alice.send({"type": "chat", "message": "before shutdown"})
        await alice.until("chat")
        proc.send_signal(sig)
        goodbye = await alice.until("goodbye")
        assert "shutting down" in goodbye["message"]
        assert await alice.closed()

    try:
        asyncio.run(scenario())
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read().decode() if proc.stderr else ""
    for needle in ("INFO - Chat server started on 127.0.0.1", "alice joined", "Server stopped"):
        assert needle in log, log
    assert (tmp_path / "chinwag.sqlite3").exists()


def test_bad_config_exits_with_a_clear_message(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("port = 'not a number'\n")
    result = subprocess.run(
        [sys.executable, "-m", "chinwag", "serve", "--config", str(bad)],
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert b"invalid value for port" in result.stderr


def test_port_in_use_is_reported(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", ":memory:"],
            capture_output=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert b"cannot run the server" in result.stderr


def test_a_second_server_on_the_same_data_folder_is_refused(tmp_path: Path):
    """Two processes on one SQLite file would hand out the same message ids."""
    port = free_port()
    first = subprocess.Popen(
        [sys.executable, "-m", "chinwag", "serve", "--port", str(port), "--data", str(tmp_path)],
        stderr=subprocess.DEVNULL,
    )
    try:
        asyncio.run(wait_for_port(port, first))
        for extra in ([], ["--reuse-port"]):
            second_port = port if extra else free_port()
            second = subprocess.run(
                [sys.executable, "-m", "chinwag", "serve", "--port", str(second_port),
                 "--data", str(tmp_path), *extra],
                capture_output=True,
                timeout=30,
            )  # fmt: skip
            assert second.returncode == 1, second.stderr
            assert b"in use by another chinwag server" in second.stderr, second.stderr
        assert first.poll() is None  # the first one never noticed
    finally:
        first.terminate()
        first.wait(timeout=20)


def test_reuse_port_without_a_shared_store_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "chinwag", "serve", "--port", str(free_port()), "--data",
         ":memory:", "--reuse-port"],
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert b"--reuse-port" in result.stderr and b"separate chat" in result.stderr
