"""Store addresses (postgresql://user:password@host/db) as they may be shown: in messages and
logs, never with the password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def is_postgres_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def shown(url: str) -> str:
    """The address without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
