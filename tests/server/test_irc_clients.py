"""Real IRC clients (Debian's irssi and weechat-headless) under tmux against the real
server, talking with a native client both ways: join, say, /msg, /topic, /names, quit.

Each client runs in a tmux session on a private tmux socket (killed at the end), is
driven by keystrokes (irssi) or its command FIFO (WeeChat), and is read through its
own log files and, for irssi, the screen. Skipped without the packages on a plain
machine; under CI=true a missing package fails (`.ci/install-browser`, run by `make
test`, installs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from tests.helpers import LineClient, needs_service, running_server
from tests.irc_support import PASSWORD, make_account

START = 30.0  # seconds a client may take to start and register


async def run(*argv: str) -> str:
    """A command's output. Through a file, not a pipe: the tmux server that `new-session`
    starts would hold a pipe open, and reading it to its end would never finish."""
    with tempfile.TemporaryFile() as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
        async with asyncio.timeout(30):
            await proc.wait()
        out.seek(0)
        return out.read().decode(errors="replace")


@asynccontextmanager
async def tmux(
    name: str, command: str, folder: Path
) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """A detached tmux session on a socket of its own; yields a `tmux ARGS...` runner."""
    socket = f"chinwag-test-{os.getpid()}-{name}"

    def tm(*args: str) -> Awaitable[str]:
        return run("tmux", "-L", socket, *args)

    env = f"TERM=screen HOME={folder}"
    await tm("new-session", "-d", "-s", name, "-x", "200", "-y", "50", f"exec env {env} {command}")
    pane = (await tm("display-message", "-p", "-t", name, "#{pane_pid}")).strip()
    try:
        yield tm
    finally:
        await run("tmux", "-L", socket, "kill-server")
        if pane.isdigit():  # weechat-headless outlives the hang-up tmux sends it
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pane), signal.SIGKILL)


async def file_has(path: Path, text: str, times: int = 1, timeout: float = 10) -> str:
    """Until the file holds `text` (`times` times); its content."""
    content = ""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if path.exists():
                    content = path.read_text(errors="replace")
                    if content.count(text) >= times:
                        return content
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{text!r} never reached {path}: {content[-2000:]!r}") from None


async def talk_with(native: LineClient, nick: str, send: Callable[[str], Awaitable[None]]) -> None:
    """The client's side of the conversation, checked from the native side."""
    await send("/msg #general hello from " + nick)
    chat = await native.until("chat", timeout=10)
    assert (chat["username"], chat["message"]) == (nick, "hello from " + nick)
    await send("/msg nat a private word")
    private = await native.until("private", timeout=10)
    assert (private["username"], private["target"], private["message"]) == (
        nick,
        "nat",
        "a private word",
    )
    await send("/topic #general set by " + nick)
    topic = await native.until("topic", timeout=10)
    assert (topic["username"], topic["topic"]) == (nick, "set by " + nick)


def test_irssi_talks_with_a_native_client(tmp_path: Path) -> None:
    needs_service(
        shutil.which("irssi") is not None and shutil.which("tmux") is not None,
        "irssi and tmux are not installed (Debian: apt-get install irssi tmux)",
    )
    home = tmp_path / "irssi"
    logs = home / "logs"
    home.mkdir()
    (home / "config").write_text(
        "settings = {\n"
        '  core = { real_name = "Test"; user_name = "test"; nick = "irssiuser"; };\n'
        f'  "fe-common/core" = {{ autolog = "yes"; autolog_path = "{logs}/$0.log";'
        ' autolog_level = "all"; };\n'
        "};\n"
    )

    async def scenario() -> None:
        async with running_server() as server:
            native = await LineClient.connect(server.port)
            await native.join("nat")
            command = f"irssi --home={home} -c 127.0.0.1 -p {server.port} -n irssiuser"
            async with tmux("irssi", command, tmp_path) as tm:

                async def send(line: str) -> None:
                    await tm("send-keys", "-t", "irssi", "-l", line)
                    await tm("send-keys", "-t", "irssi", "Enter")

                joined = await native.until("user_joined", timeout=START)
                assert joined["username"] == "irssiuser"
                await file_has(logs / "#general.log", "Total of 2 nicks")  # it is registered
                await talk_with(native, "irssiuser", send)
                await native.send({"type": "chat", "message": "hi irssi \x1b[31mred"})
                await native.until("chat")
                log = await file_has(logs / "#general.log", "< nat> hi irssi [31mred")
                assert "\x1b" not in log
                await native.send({"type": "private", "target": "irssiuser", "message": "psst"})
                await native.until("private")
                await file_has(logs / "nat.log", "psst")
                await send("/names #general")
                await file_has(logs / "#general.log", "[Users #general]", times=2)  # 1: the join
                await send("/window goto #general")

                async def screen() -> str:
                    return await tm("capture-pane", "-p", "-t", "irssi")

                async with asyncio.timeout(10):
                    while "hi irssi" not in await screen():
                        await asyncio.sleep(0.1)
                await send("/quit see you")
                left = await native.until("user_left", timeout=10)
                assert (left["username"], left["reason"]) == ("irssiuser", "Quit: see you")

    asyncio.run(scenario())


def test_weechat_talks_with_a_native_client(tmp_path: Path) -> None:
    needs_service(
        shutil.which("weechat-headless") is not None and shutil.which("tmux") is not None,
        "weechat-headless and tmux are not installed (Debian: apt-get install"
        " weechat-headless tmux)",
    )
    home = tmp_path / "weechat"
    logs = home / "logs"

    def fifo() -> Path | None:
        return next(iter(home.glob("weechat_fifo_*")), None)

    async def scenario() -> None:
        async with running_server() as server:
            native = await LineClient.connect(server.port)
            await native.join("nat")
            setup = "; ".join(
                [
                    "/set logger.file.flush_delay 0",
                    f"/set logger.file.path {logs}",
                    f"/server add chinwag 127.0.0.1/{server.port} -notls -nicks=weeuser",
                    "/connect chinwag",
                ]
            )
            command = f"weechat-headless --dir {home} --stdout -r '{setup}'"
            async with tmux("weechat", command, tmp_path):
                joined = await native.until("user_joined", timeout=START)
                assert joined["username"] == "weeuser"
                general = logs / "irc.chinwag.#general.weechatlog"
                await file_has(general, "Channel #general: 2 nicks")  # it is registered
                path = fifo()
                assert path is not None

                async def send(line: str) -> None:
                    # Non-blocking: the loop serves the server too, it must never wait here.
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                    try:
                        os.write(fd, f"irc.server.chinwag *{line}\n".encode())
                    finally:
                        os.close(fd)

                await talk_with(native, "weeuser", send)
                await native.send({"type": "chat", "message": "hi weechat \x03" + "4red"})
                await native.until("chat")
                log = await file_has(general, "hi weechat red")
                assert "\x03" not in log
                await native.send({"type": "private", "target": "weeuser", "message": "psst"})
                await native.until("private")
                await file_has(logs / "irc.chinwag.nat.weechatlog", "psst")
                await send("/names #general")
                await file_has(general, "nat weeuser")
                await send("/quit see you")
                left = await native.until("user_left", timeout=10)
                assert (left["username"], left["reason"]) == ("weeuser", "Quit: see you")

    asyncio.run(scenario())


def test_weechat_signs_in_to_an_account_with_sasl(tmp_path: Path) -> None:
    needs_service(
        shutil.which("weechat-headless") is not None and shutil.which("tmux") is not None,
        "weechat-headless and tmux are not installed (Debian: apt-get install"
        " weechat-headless tmux)",
    )
    home = tmp_path / "weechat"
    logs = home / "logs"

    async def scenario() -> None:
        async with running_server(tmp_path / "data") as server:
            await make_account(server, "wacct")
            native = await LineClient.connect(server.port)
            await native.join("nat")
            setup = "; ".join(
                [
                    "/set logger.file.flush_delay 0",
                    f"/set logger.file.path {logs}",
                    f"/server add chinwag 127.0.0.1/{server.port} -notls -nicks=someone",
                    "/set irc.server.chinwag.sasl_username wacct",
                    f'/set irc.server.chinwag.sasl_password "{PASSWORD}"',
                    "/connect chinwag",
                ]
            )
            command = f"weechat-headless --dir {home} --stdout -r '{setup}'"
            async with tmux("weechat", command, tmp_path):
                joined = await native.until("user_joined", timeout=START)
                assert joined["username"] == "wacct"  # the account's name, proven
                await file_has(
                    logs / "irc.server.chinwag.weechatlog", "SASL authentication successful"
                )
                await native.send({"type": "list_users"})
                assert "wacct" in (await native.until("list_users"))["accounts"]

    asyncio.run(scenario())
