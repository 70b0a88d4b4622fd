"""`/upload` and `/download` in `chinwag chat`: a real server, two scripted sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chinwag.client.line import _chat
from chinwag.client.tokens import TokenStore
from chinwag.client.webfiles import ProgressBar, free_path
from tests.client.support import ScriptedTerminal
from tests.client.test_line_accounts import HOST, PASSWORD, ended, register
from tests.helpers import running_server
from tests.web.support import web_port


def test_upload_then_download_with_progress(tmp_path: Path):
    async def scenario():
        async with running_server(tmp_path / "data", http_port=-1) as server:
            web = f"http://127.0.0.1:{web_port(server)}"
            await register(server.port, "alice")
            await register(server.port, "bob")
            sessions = []
            for name in ("alice", "bob"):
                terminal = ScriptedTerminal()
                tokens = TokenStore(tmp_path / f"config-{name}")
                task = asyncio.create_task(
                    _chat(HOST, server.port, name, terminal=terminal, tokens=tokens, web=web)
                )
                await terminal.expect(f"Password for {name}")
                terminal.type(PASSWORD)
                await terminal.expect("Type a message")
                sessions.append((terminal, task))
            (alice, alice_task), (bob, bob_task) = sessions
            report = tmp_path / "report.bin"
            report.write_bytes(bytes(range(256)) * 1000)  # 256 KB: several progress steps
            alice.type(f"/upload {report}")
            await alice.expect("Uploading report.bin [####................]  20%")
            await alice.expect("Uploading report.bin [####################] 100%")
            await alice.expect("* Shared report.bin in #general")
            line = await bob.expect("shared report.bin")
            number = line.rpartition("/download ")[2].rstrip(")")
            saved = tmp_path / "saved"
            saved.mkdir()
            bob.type(f"/download {number} {saved}")
            await bob.expect("Downloading report.bin [####################] 100%")
            await bob.expect(f"* Saved {saved / 'report.bin'}")
            assert (saved / "report.bin").read_bytes() == report.read_bytes()
            bob.type(f"/download {number} {saved}")  # never over the first copy
            await bob.expect(f"* Saved {saved / 'report (1).bin'}")
            bob.type("/download 999999")
            await bob.expect("Usage: /download ID")
            alice.type("/upload /no/such/file")
            await alice.expect("Usage: /upload PATH")
            for terminal, task in sessions:
                terminal.type("/quit")
                assert await ended(task) == 0
            del alice_task, bob_task

    asyncio.run(scenario())


def test_guests_are_told_to_sign_in_and_refusals_are_shown(tmp_path: Path):
    async def scenario():
        async with running_server(http_port=-1, max_file_size=10) as server:
            web = f"http://127.0.0.1:{web_port(server)}"
            await register(server.port, "alice")
            guest = ScriptedTerminal()
            tokens = TokenStore(tmp_path / "config")
            task = asyncio.create_task(
                _chat(HOST, server.port, "eve", terminal=guest, tokens=tokens, web=web)
            )
            await guest.expect("Type a message")
            small = tmp_path / "a.txt"
            small.write_text("hello")
            guest.type(f"/upload {small}")
            await guest.expect("Sign in to an account")
            guest.type("/quit")
            assert await ended(task) == 0
            alice = ScriptedTerminal()
            task = asyncio.create_task(
                _chat(HOST, server.port, "alice", terminal=alice, tokens=tokens, web=web)
            )
            await alice.expect("Password for alice")
            alice.type(PASSWORD)
            await alice.expect("Type a message")
            big = tmp_path / "big.txt"
            big.write_text("x" * 100)
            alice.type(f"/upload {big}")
            await alice.expect("! Upload failed: Files are at most 10 bytes")
            alice.type("/quit")
            assert await ended(task) == 0

    asyncio.run(scenario())


def test_progress_bar_and_free_names(tmp_path: Path):
    shown: list[str] = []
    bar = ProgressBar(shown.append, "Up")
    for done in range(0, 1001, 50):
        bar(done, 1000)
    assert shown[0] == "Up [....................]   0%"
    assert shown[-1] == "Up [####################] 100%" and len(shown) == 11
    (tmp_path / "a.txt").touch()
    assert free_path(tmp_path, "../../a.txt") == tmp_path / "a (1).txt"
    assert free_path(tmp_path, "..") == tmp_path / "download"
