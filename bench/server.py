"""The real server as a subprocess on 127.0.0.1, always killed on exit."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from bench.proc import listening

HOST = "127.0.0.1"
START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`python -m chinwag serve`, logging at WARNING; with rate limits and join replay off
    unless `limits` (the hostile bench keeps every defence on)."""

    def __init__(
        self, data: str, log_path: Path, extra: tuple[str, ...] = (), *, limits: bool = False
    ) -> None:
        self.data = data
        self.log_path = log_path
        self.extra = extra
        self.limits = limits
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # `--workers N`: ready once every worker listens (the first may serve alone a while).
        self.workers = int(extra[extra.index("--workers") + 1]) if "--workers" in extra else 1

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        off = () if self.limits else (
            "--message-rate", "0", "--command-rate", "0", "--history-on-join", "0",
        )  # fmt: skip
        return [
            sys.executable, "-m", "chinwag", "serve",
            "--host", HOST, "--port", str(self.port), "--data", self.data,
            "--http-port", "0", *off, "--log-level", "WARNING", *self.extra,
        ]  # fmt: skip

    def __enter__(self) -> ServerProcess:
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log_path}"
                )
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.5):
                if len(listening(self.pid, self.port)) >= self.workers:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"server not listening on {HOST}:{self.port} after {START_TIMEOUT} s")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


NGIRCD_CONF = Path(__file__).with_name("ngircd.conf")


class NgircdProcess(ServerProcess):
    """Debian's ngIRCd (`ngircd -n`) with bench/ngircd.conf: the IRC comparison."""

    def command(self) -> list[str]:
        return ["ngircd", "-n", "-f", str(self.log_path.with_name("ngircd.conf"))]

    def __enter__(self) -> ServerProcess:
        folder = self.log_path.parent
        text = NGIRCD_CONF.read_text().format(
            port=self.port, folder=folder, uid=os.getuid(), gid=os.getgid()
        )
        folder.joinpath("ngircd.conf").write_text(text)
        # chinwag raises its own open-files limit; ngIRCd inherits ours.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return super().__enter__()


INSPIRCD_CONF = Path(__file__).with_name("inspircd.conf")


class InspircdProcess(ServerProcess):
    """Debian's InspIRCd 3 in the foreground with bench/inspircd.conf (root needs
    --runasroot): the second C server of the IRC comparison."""

    def command(self) -> list[str]:
        conf = str(self.log_path.with_name("inspircd.conf"))
        return ["inspircd", "--nofork", "--runasroot", "--config", conf]

    def __enter__(self) -> ServerProcess:
        folder = self.log_path.parent
        text = INSPIRCD_CONF.read_text().replace("{port}", str(self.port))
        folder.joinpath("inspircd.conf").write_text(text.replace("{folder}", str(folder)))
        folder.joinpath("inspircd.motd").write_text("bench\n")
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return super().__enter__()


# The IRC servers of the comparison, by LoadSpec.server: their process and program.
C_SERVERS: dict[str, tuple[type[ServerProcess], str]] = {
    "ngircd": (NgircdProcess, "ngircd"),
    "inspircd": (InspircdProcess, "inspircd"),
}
