"""Optional py-spy sampling of the server during the measured phase (`--profile DIR`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ENV = "CHINWAG_BENCH_PROFILE"  # a folder: profiles of every run land there


class Profiler:
    """`py-spy record --pid` in raw (collapsed stacks) format; a no-op unless ENV is set."""

    def __init__(self, pid: int, name: str) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        folder = os.environ.get(ENV)
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not folder or not Path(spy).exists():
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        out = Path(folder) / f"{name}-{os.getpid()}-{pid}.txt"
        self.proc = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--rate", "250", "--nonblocking",
             "--format", "raw", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop sampling; py-spy writes its file when interrupted."""
        if self.proc is None:
            return
        self.proc.send_signal(2)  # SIGINT
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
