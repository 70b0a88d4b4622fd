"""Server settings: defaults < TOML file < CHINWAG_* environment < command-line flags.

Every setting has one name, used as the TOML key, as the flag (`--max-line`) and, upper-cased,
as the environment variable (`CHINWAG_MAX_LINE`).
"""

from __future__ import annotations

import dataclasses
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
            raise ConfigError(f"port out of range in {text!r}")
        return cls(port, dialect.strip() if sep else "auto")


@dataclass(slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 12345
    data: str = "./data"  # a folder, or ":memory:" for nothing on disk
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
    # argon2 parameters for new password hashes (chinwag.passwords.PROFILES); "cheapest"
    # is for tests only.
    password_profile: str = "rfc9106-low-memory"
    # TLS is served on tls_port (main port's dialect detection) when both files are given.
    tls_cert: str | None = None  # PEM: the server's certificate, then any intermediates
    tls_key: str | None = None  # PEM, unencrypted (keep it 0600)
    tls_port: int = TLS_PORT
    tls_handshake_timeout: float = 10.0  # close a TLS connection not through its handshake
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

    @property
    def data_dir(self) -> Path | None:
        return None if self.data == ":memory:" else Path(self.data)


_LIMIT_FIELDS = {f.name: f for f in dataclasses.fields(Limits)}
_SERVER_FIELDS = {f.name: f for f in dataclasses.fields(ServerConfig) if f.name != "limits"}


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
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind in ("int", "<class 'int'>"):
            return int(value)
        if kind in ("float", "<class 'float'>"):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"invalid value for {name}: {value!r}") from None


def _apply(config: ServerConfig, values: Mapping[str, Any], origin: str) -> None:
    for raw_name, value in values.items():
        if value is None:
            continue
        name = raw_name.replace("-", "_")
        if name in _SERVER_FIELDS:
            setattr(config, name, _coerce(name, _SERVER_FIELDS[name].type, value))
        elif name in _LIMIT_FIELDS:
            setattr(config.limits, name, _coerce(name, _LIMIT_FIELDS[name].type, value))
        elif origin != "environment":
            raise ConfigError(f"unknown setting {raw_name!r} in {origin}")


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
        if k.startswith("CHINWAG_") and k != "CHINWAG_CONFIG"
    }
    _apply(config, from_env, "environment")
    if overrides:
        _apply(config, overrides, "flags")
    _check_choices(config)
    _check_tls(config)
    return config


CHOICES = {
    "guests": ("allow", "deny"),
    "registration": ("open", "closed"),
}


def _check_choices(config: ServerConfig) -> None:
    from chinwag.passwords import PROFILES

    for name, allowed in CHOICES.items():
        value = getattr(config.limits, name)
        if value not in allowed:
            raise ConfigError(f"{name} is one of {', '.join(allowed)}, not {value!r}")
    if config.password_profile not in PROFILES:
        raise ConfigError(
            f"password_profile is one of {', '.join(PROFILES)}, not {config.password_profile!r}"
        )


def _check_tls(config: ServerConfig) -> None:
    if config.tls_files() is None:
        return
    if not 0 <= config.tls_port <= 65535:
        raise ConfigError(f"tls_port out of range: {config.tls_port}")
    if config.tls_port and config.tls_port in {spec.port for spec in config.listeners()}:
        raise ConfigError(f"tls_port {config.tls_port} is also a plain-text port")


def settings_names() -> list[str]:
    return sorted([*_SERVER_FIELDS, *_LIMIT_FIELDS])
