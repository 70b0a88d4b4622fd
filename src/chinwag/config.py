"""Server settings: defaults < TOML file < CHINWAG_* environment < command-line flags.

Every setting has one name, used as the TOML key, as the flag (`--max-line`) and, upper-cased,
as the environment variable (`CHINWAG_MAX_LINE`).

A bad setting is a ConfigError with one line that names it and says what it may be (the
command line prints it and exits 2): a port out of 0-65535 is refused rather than wrapped
around by the socket layer, a negative limit rather than read as "nothing allowed", and a
mistyped key or `CHINWAG_*` variable rather than ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chinwag.certs import TLS_PORT
from chinwag.engine.limits import Limits
from chinwag.errors import ConfigError

# The seed documents' own ports (see docs/protocol.md, "Ports").
CLASSIC_PORTS: tuple[tuple[int, str], ...] = (
    (12345, "auto"),
    (65432, "plain"),
    (7001, "pipe"),
    (7072, "basic"),
    (12346, "typed"),
    (6667, "irc"),
)


@dataclass(frozen=True, slots=True)
class ListenSpec:
    port: int
    dialect: str

    @classmethod
    def parse(cls, text: str) -> ListenSpec:
        port_text, sep, dialect = text.partition("=")
        try:
            port = int(port_text)
        except ValueError:
            raise ConfigError(f"--listen wants PORT=DIALECT, got {text!r}") from None
        if not 0 <= port <= 65535:
            raise ConfigError(f"--listen {text}: a port is a number from 0 to 65535")
        dialect = dialect.strip() if sep else "auto"
        from chinwag.protocol.dialects import DIALECTS

        if dialect not in DIALECTS:
            known = ", ".join(DIALECTS)
            raise ConfigError(f"--listen {text}: unknown dialect {dialect!r} (one of {known})")
        return cls(port, dialect)


@dataclass(slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 12345
    data: str = "./data"  # a folder, or ":memory:" for nothing on disk
    # Where history, rooms and accounts live: "" is SQLite in the data folder (the
    # default); postgresql://user@host/db is the PostgreSQL store (chinwag[postgres]).
    store: str = ""
    log_level: str = "INFO"
    listen: list[ListenSpec] = field(default_factory=list)
    classic_ports: bool = False
    max_line: int = 64 * 1024
    max_buffer: int = 1024 * 1024  # bytes owed to one client before it is dropped
    keepalive_interval: float = 30.0  # ping a client silent this long
    keepalive_timeout: float = 90.0  # drop a ping-answering client silent this long
    join_timeout: float = 60.0  # drop a connection that has not joined by then
    idle_timeout: float = 1800.0  # close a client that cannot answer pings, silent this long
    max_connections: int = 0  # 0: as many as the file-descriptor limit allows (run.py)
    max_per_ip: int = 16  # connections from one address (limit_exempt ones excepted; 0: any)
    shutdown_grace: float = 5.0
    store_grace: float = 3.0  # a failing store is retried this long before messages are refused
    query_budget: float = 1.0  # seconds a store read (search, history) may run
    reuse_port: bool = False
    # Server processes sharing the ports (SO_REUSEPORT) under one supervisor (server/workers.py);
    # more than 1 needs a shared store (PostgreSQL) and bus (NATS).
    workers: int = 1
    # "" (the default): the in-process bus, one process. nats://HOST:PORT: nodes that name
    # the same NATS server (and bus_prefix) share rooms (docs/DEVELOPING.md, the bus).
    bus: str = ""
    bus_prefix: str = "chinwag"  # the NATS subjects' first token: several chats on one broker
    # argon2 parameters for new password hashes (chinwag.passwords.PROFILES); "cheapest"
    # is for tests only.
    password_profile: str = "rfc9106-low-memory"
    # TLS is served on tls_port (main port's dialect detection) when both files are given.
    tls_cert: str | None = None  # PEM: the server's certificate, then any intermediates
    tls_key: str | None = None  # PEM, unencrypted (keep it 0600)
    tls_port: int = TLS_PORT
    tls_handshake_timeout: float = 10.0  # close a TLS connection not through its handshake
    # The web front end (chinwag.web): the page, /ws, /health, /metrics; 0 turns it off,
    # -1 binds any free port (tests). Over TLS with the same certificate when TLS is on.
    http_port: int = 8080
    # Origins (scheme://host[:port]) allowed to open /ws; empty: the page's own origin.
    http_origin: tuple[str, ...] = ()
    max_file_size: int = 25 * 1000 * 1000  # bytes of one upload (POST /api/files); more: 413
    limits: Limits = field(default_factory=Limits)

    def listeners(self) -> list[ListenSpec]:
        """Every (port, dialect) to listen on, the main port first, no port twice."""
        specs = [ListenSpec(self.port, "auto")]
        if self.classic_ports:
            specs += [ListenSpec(p, d) for p, d in CLASSIC_PORTS]
        specs += self.listen
        seen: dict[int, ListenSpec] = {}
        for spec in specs:
            if spec.port == 0 or spec.port not in seen:
                seen[spec.port if spec.port else -len(seen) - 1] = spec
        return list(seen.values())

    def tls_files(self) -> tuple[str, str] | None:
        """(certificate, key) when TLS is on; None when off; ConfigError for one alone."""
        if self.tls_cert and self.tls_key:
            return self.tls_cert, self.tls_key
        if self.tls_cert or self.tls_key:
            given, missing = ("tls_cert", "tls_key") if self.tls_cert else ("tls_key", "tls_cert")
            raise ConfigError(
                f"{given} is set but {missing} is not: TLS needs both the certificate and its"
                " key (--tls-cert FILE --tls-key FILE); `chinwag cert` makes a pair to try"
            )
        return None

    def store_shown(self) -> str:
        """The store's address without its password."""
        from chinwag.storage.address import shown

        return shown(self.store)

    @property
    def data_dir(self) -> Path | None:
        return None if self.data == ":memory:" else Path(self.data)


_LIMIT_FIELDS = {f.name: f for f in dataclasses.fields(Limits)}
_SERVER_FIELDS = {f.name: f for f in dataclasses.fields(ServerConfig) if f.name != "limits"}


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _coerce(name: str, kind: Any, value: Any) -> Any:
    kind = str(kind)
    try:
        if name == "listen":
            items = value if isinstance(value, list) else str(value).replace(",", " ").split()
            return [ListenSpec.parse(str(v)) for v in items]
        if kind.startswith("tuple"):  # a list of words: TOML array, or "a, b c" elsewhere
            if isinstance(value, list | tuple):
                return tuple(str(v) for v in value)
            return tuple(str(value).replace(",", " ").split())
        if kind in ("bool", "<class 'bool'>"):
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word not in _TRUE | _FALSE:  # "maybe" is a typo, not a quiet False
                raise ValueError(word)
            return word in _TRUE
        if kind in ("int", "<class 'int'>"):
            return int(value)
        if kind in ("float", "<class 'float'>"):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"invalid value for {name}: {value!r}") from None


# chinwag's own variables that are not server settings (the clients' included: one shell
# may run both).
NOT_SETTINGS = frozenset(
    {"CHINWAG_CONFIG", "CHINWAG_CONFIG_HOME", "CHINWAG_BENCH_PROFILE", "CHINWAG_PASTE_WINDOW"}
)


def _unknown(raw_name: str, origin: str) -> ConfigError:
    """A mistyped setting, with the nearest real name when there is one."""
    names = settings_names()
    if origin == "environment":
        shown = f"CHINWAG_{raw_name.upper()}"
        guess = difflib.get_close_matches(raw_name.lower(), names, n=1)
        hint = f" (did you mean CHINWAG_{guess[0].upper()}?)" if guess else ""
        return ConfigError(f"unknown setting {shown} in the environment{hint}")
    guess = difflib.get_close_matches(raw_name.replace("-", "_"), names, n=1)
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    return ConfigError(f"unknown setting {raw_name!r} in {origin}{hint}")


def _apply(config: ServerConfig, values: Mapping[str, Any], origin: str) -> None:
    for raw_name, value in values.items():
        if value is None:
            continue
        name = raw_name.replace("-", "_")
        if name in _SERVER_FIELDS:
            setattr(config, name, _coerce(name, _SERVER_FIELDS[name].type, value))
        elif name in _LIMIT_FIELDS:
            setattr(config.limits, name, _coerce(name, _LIMIT_FIELDS[name].type, value))
        else:
            raise _unknown(raw_name, origin)


def load_config(
    *,
    file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServerConfig:
    config = ServerConfig()
    if file is not None:
        try:
            with open(file, "rb") as handle:
                table = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from None
        flat = {k: v for k, v in table.items() if not isinstance(v, dict)}
        flat.update(table.get("limits", {}))
        _apply(config, flat, str(file))
    env = os.environ if environ is None else environ
    from_env = {
        k[len("CHINWAG_") :].lower(): v
        for k, v in env.items()
        if k.startswith("CHINWAG_") and k not in NOT_SETTINGS
    }
    _apply(config, from_env, "environment")
    if overrides:
        _apply(config, overrides, "flags")
    _check_choices(config)
    _check_numbers(config)
    _check_data(config)
    _check_tls(config)
    _check_http(config)
    _check_bus(config)
    _check_workers(config)
    return config


CHOICES = {
    "guests": ("allow", "deny"),
    "registration": ("open", "closed"),
}


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Numbers for which 0 makes no sense (0 elsewhere means "none" or "unlimited", see --help).
POSITIVE = frozenset(
    {
        "max_line",
        "max_buffer",
        "keepalive_interval",
        "keepalive_timeout",
        "join_timeout",
        "idle_timeout",
        "query_budget",
        "tls_handshake_timeout",
        "token_days",
        "workers",
    }
)


def _check_choices(config: ServerConfig) -> None:
    from chinwag.passwords import PROFILES

    config.log_level = config.log_level.upper()
    if config.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level is one of {', '.join(LOG_LEVELS)}, not {config.log_level!r}")

    for name, allowed in CHOICES.items():
        value = getattr(config.limits, name)
        if value not in allowed:
            raise ConfigError(f"{name} is one of {', '.join(allowed)}, not {value!r}")
    if config.password_profile not in PROFILES:
        raise ConfigError(
            f"password_profile is one of {', '.join(PROFILES)}, not {config.password_profile!r}"
        )


def _check_numbers(config: ServerConfig) -> None:
    """Every number in range: ports 0-65535, nothing negative, not NaN or infinite."""
    for name in ("port", "tls_port"):
        port = getattr(config, name)
        if not 0 <= port <= 65535:
            raise ConfigError(f"{name} is a number from 0 to 65535, not {port}")
    values = [(n, getattr(config, n)) for n in _SERVER_FIELDS]
    values += [(n, getattr(config.limits, n)) for n in _LIMIT_FIELDS]
    for name, value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value) or value < 0 or (value == 0 and name in POSITIVE):
            least = "more than 0" if name in POSITIVE else "0 or more"
            raise ConfigError(f"{name} must be a number {least}, not {value}")


def _check_data(config: ServerConfig) -> None:
    """The data folder must be a folder (the server makes it when it does not exist)."""
    folder = config.data_dir
    if folder is not None and folder.exists() and not folder.is_dir():
        raise ConfigError(f"data must be a folder, and {config.data} is a file")


def _check_http(config: ServerConfig) -> None:
    if not -1 <= config.http_port <= 65535:
        raise ConfigError(f"http_port out of range: {config.http_port}")
    taken = {spec.port for spec in config.listeners()}
    if config.tls_files() is not None:
        taken.add(config.tls_port)
    if config.http_port > 0 and config.http_port in taken:
        raise ConfigError(f"http_port {config.http_port} is also a chat port")
    for origin in config.http_origin:
        if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
            raise ConfigError(f"http_origin wants scheme://host[:port], got {origin!r}")


def _check_bus(config: ServerConfig) -> None:
    if config.bus and not config.bus.startswith("nats://"):
        raise ConfigError(f"bus is nats://host:port or empty (in-process), not {config.bus!r}")
    if not config.bus_prefix or not all(
        part and all(c.isascii() and (c.isalnum() or c in "_-") for c in part)
        for part in config.bus_prefix.split(".")
    ):
        raise ConfigError(
            f"bus_prefix is letters, digits, - and _ (dots between), not {config.bus_prefix!r}"
        )


def _check_workers(config: ServerConfig) -> None:
    """Workers must share what makes them one chat: the store (ids, history, accounts), the
    bus (who hears what) and the ports (each one given: port 0 is another port per worker)."""
    count = config.workers
    if count <= 1:
        return
    if not config.store:
        where = "memory" if config.data_dir is None else f"SQLite in {config.data}"
        raise ConfigError(
            f"--workers {count} needs a store the workers share, and {where} is one process's"
            " (each worker would hand out the same message ids"
            + (", and the data folder is locked by one process)" if config.data_dir else ")")
            + ": keep the chat in PostgreSQL with --store postgresql://USER@HOST/DB and join"
            " the workers with --bus nats://HOST:4222 (docs/deploy.md)"
        )
    if not config.bus:
        raise ConfigError(
            f"--workers {count} needs a bus the workers share: with the in-process bus each"
            " worker would hear only its own clients; give --bus nats://HOST:4222"
            " (docs/deploy.md)"
        )
    ports = [("port", config.port)] + [("listen", spec.port) for spec in config.listen]
    if config.tls_files() is not None:
        ports.append(("tls_port", config.tls_port))
    for name, port in ports:  # (http_port 0 is off)
        if port == 0:
            raise ConfigError(
                f"--workers {count} shares the ports, so give {name} a number: any free port"
                " (0) would be another one for each worker"
            )


def _check_tls(config: ServerConfig) -> None:
    if config.tls_files() is None:
        return
    if config.tls_port and config.tls_port in {spec.port for spec in config.listeners()}:
        raise ConfigError(f"tls_port {config.tls_port} is also a plain-text port")


def settings_of(config: ServerConfig) -> dict[str, Any]:
    """Every setting as plain JSON values that `load_config(overrides=...)` reads back into
    the same config: how the supervisor hands a worker its settings (server/workers.py)."""

    def plain(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        if isinstance(value, ListenSpec):
            return f"{value.port}={value.dialect}"
        return value

    values = {name: getattr(config, name) for name in _SERVER_FIELDS}
    values.update({name: getattr(config.limits, name) for name in _LIMIT_FIELDS})
    return {name: plain(value) for name, value in values.items()}


def settings_names() -> list[str]:
    return sorted([*_SERVER_FIELDS, *_LIMIT_FIELDS])
