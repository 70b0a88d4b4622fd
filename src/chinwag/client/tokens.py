"""Login tokens the line client keeps between runs (client layer, local files only).

A token from a `welcome` lets the client sign in again without asking for the password.
They live in one JSON file, `tokens.json`, in the user's chinwag config folder:
`$CHINWAG_CONFIG_HOME` if set, else `$XDG_CONFIG_HOME/chinwag`, else `~/.config/chinwag`.
The folder is made with mode 0700 and the file is written whole, with mode 0600, through a
temporary file and a rename, so a crash never leaves half a file and nobody else can read it.

The file maps `host:port` to account names (case-folded) to tokens:

    {"localhost:12345": {"alice": "Ke3..."}}

A file that cannot be read or parsed counts as empty (the client then asks for the
password). Tokens are never printed or logged.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import orjson

FILE_NAME = "tokens.json"


def config_dir() -> Path:
    """Where the client keeps its files (see the module docstring)."""
    own = os.environ.get("CHINWAG_CONFIG_HOME")
    if own:
        return Path(own)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "chinwag"


def server_key(host: str, port: int) -> str:
    return f"{host.lower()}:{port}"


class TokenStore:
    """The tokens file of one config folder; every call reads or writes the file afresh."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else config_dir()
        self.path = self.folder / FILE_NAME

    def get(self, host: str, port: int, name: str) -> str | None:
        token = self._load().get(server_key(host, port), {}).get(name.casefold())
        return token if isinstance(token, str) and token else None

    def put(self, host: str, port: int, name: str, token: str) -> None:
        data = self._load()
        data.setdefault(server_key(host, port), {})[name.casefold()] = token
        self._save(data)

    def forget(self, host: str, port: int, name: str) -> None:
        data = self._load()
        server = data.get(server_key(host, port), {})
        if server.pop(name.casefold(), None) is None:
            return
        if not server:
            data.pop(server_key(host, port), None)
        self._save(data)

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            raw = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        if not isinstance(raw, dict):
            return {}
        return {
            key: {n: t for n, t in names.items() if isinstance(t, str)}
            for key, names in raw.items()
            if isinstance(names, dict)
        }

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)  # mkdir's mode is filtered by the umask
        temporary = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
