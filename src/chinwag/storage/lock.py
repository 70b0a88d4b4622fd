"""One server per data folder: an exclusive lock held while a store is open.

Two processes that write one SQLite file would hand out the same message ids (each keeps
its own sequence in memory). Several writers need a store that shares one sequence; until
then a second server on the same data is refused at start, with a message that says why.
The lock is advisory (flock) and dies with the process, so a `kill -9` leaves nothing stale.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from chinwag.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; the check is skipped there
    fcntl = None  # type: ignore[assignment]


class DataLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None or self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreError(
                f"{self.path.parent} is in use by another chinwag server (pid {holder}); "
                "one data folder serves one server process (several processes sharing one "
                "store need a shared database, which chinwag does not support yet)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the descriptor drops the flock
