"""The `chinwag` command: `chinwag serve`, `chinwag chat`, `chinwag user` (chinwag.admin),
`chinwag cert`, `chinwag migrate` (chinwag.storage.migrate)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeAlias

from chinwag import __version__


class _Parser(argparse.ArgumentParser):
    """argparse with a usage error on one line (the usage of `serve` is a page long)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


Subcommands: TypeAlias = "argparse._SubParsersAction[_Parser]"


def _port_from(lowest: int) -> Callable[[str], int]:
    """An argparse type for a port: a socket would wrap 70000 around to 4464."""

    def port(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = -1
        if not lowest <= number <= 65535:
            raise argparse.ArgumentTypeError(
                f"a port is a number from {lowest} to 65535, not {text!r}"
            )
        return number

    return port


def _dialects() -> list[str]:
    from chinwag.protocol.dialects import DIALECTS

    return list(DIALECTS)


def _with_defaults(parser: argparse.ArgumentParser) -> None:
    """Say each setting's default in its help, read from the settings themselves (the
    flags default to None so that a TOML file or a variable may set them instead)."""
    from chinwag.config import ServerConfig

    config = ServerConfig()
    for action in parser._actions:
        help_text = action.help or ""
        if not action.option_strings or action.dest == "help" or "default" in help_text:
            continue
        where = config.limits if hasattr(config.limits, action.dest) else config
        value = getattr(where, action.dest, None)
        if value is None or value is False or (not value and value != 0):
            continue
        if isinstance(value, list | tuple):
            value = " ".join(map(str, value))
        action.help = f"{help_text} (default {value})" if help_text else f"default {value}"


def _serve_parser(sub: Subcommands) -> None:
    p = sub.add_parser("serve", help="run the chat server")
    p.add_argument("--config", metavar="FILE", help="TOML file of settings (or CHINWAG_CONFIG)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port_from(0), help="main port, dialect detected (default 12345)")
    p.add_argument("--data", metavar="DIR", help="where state lives (default ./data; :memory:)")
    p.add_argument(
        "--store",
        metavar="URL",
        help="keep history and accounts in PostgreSQL (postgresql://user@host/db) instead of"
        " SQLite in the data folder",
    )
    p.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="how much the server logs",
    )
    p.add_argument(
        "--listen",
        action="append",
        metavar="PORT=DIALECT",
        help="also listen on PORT speaking one dialect (repeatable); dialects: "
        + ", ".join(_dialects()),
    )
    p.add_argument(
        "--classic-ports",
        action="store_const",
        const=True,
        help="listen on each seed document's own port too",
    )
    p.add_argument("--max-line", type=int, metavar="BYTES", help="longest accepted line")
    p.add_argument("--max-buffer", type=int, metavar="BYTES", help="bytes owed before a drop")
    p.add_argument(
        "--keepalive-interval", type=float, metavar="SECONDS", help="ping a silent client after"
    )
    p.add_argument(
        "--keepalive-timeout", type=float, metavar="SECONDS", help="then drop it this much later"
    )
    p.add_argument(
        "--join-timeout", type=float, metavar="SECONDS", help="close a client that never joins"
    )
    p.add_argument(
        "--idle-timeout", type=float, metavar="SECONDS", help="close clients silent this long"
    )
    p.add_argument(
        "--max-connections", type=int, metavar="N", help="default: the file-descriptor limit"
    )
    p.add_argument(
        "--max-per-ip", type=int, metavar="N", help="connections from one address (default 16)"
    )
    p.add_argument("--message-rate", type=float, metavar="PER_SECOND", help="0: unlimited")
    p.add_argument("--message-burst", type=float, metavar="N", help="messages sent at once")
    p.add_argument("--command-rate", type=float, metavar="PER_SECOND", help="0: unlimited")
    p.add_argument("--command-burst", type=float, metavar="N", help="commands sent at once")
    p.add_argument("--history-on-join", type=int, metavar="N", help="recent messages a joiner gets")
    p.add_argument("--query-budget", type=float, metavar="SECONDS", help="longest store read")
    p.add_argument("--max-rooms", type=int, metavar="N", help="rooms on the server")
    p.add_argument("--max-rooms-per-user", type=int, metavar="N", help="rooms one user is in")
    p.add_argument(
        "--shutdown-grace", type=float, metavar="SECONDS", help="longest graceful shutdown"
    )
    p.add_argument("--rooms-per-hour", type=int, metavar="N", help="new rooms per user an hour")
    p.add_argument(
        "--rooms-per-address-hour", type=int, metavar="N", help="new rooms per address an hour"
    )
    p.add_argument(
        "--limit-exempt",
        metavar="ADDRESSES",
        help="addresses the per-address limits skip (default 127.0.0.1 ::1)",
    )
    p.add_argument(
        "--store-grace", type=float, metavar="SECONDS", help="retry a failing store this long"
    )
    p.add_argument(
        "--reuse-port",
        action="store_const",
        const=True,
        help="let several servers share the ports (SO_REUSEPORT)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run N server processes sharing the ports under one supervisor; more than 1"
        " needs --store postgresql://... and --bus nats://... (docs/deploy.md)",
    )
    p.add_argument(
        "--bus",
        metavar="URL",
        help="nats://HOST:PORT: share rooms with the other nodes on that NATS (default: none)",
    )
    p.add_argument("--bus-prefix", metavar="NAME", help="NATS subject prefix (default chinwag)")
    p.add_argument("--guests", choices=["allow", "deny"], help="may people chat without an account")
    p.add_argument(
        "--registration",
        choices=["open", "closed"],
        help="may people make their own accounts (closed: only an admin does)",
    )
    p.add_argument("--token-days", type=float, metavar="DAYS", help="login tokens last this long")
    p.add_argument("--min-password", type=int, metavar="N", help="shortest password allowed")
    p.add_argument(
        "--tls-cert", metavar="FILE", help="PEM certificate (chain): with --tls-key, serve TLS"
    )
    p.add_argument("--tls-key", metavar="FILE", help="its PEM private key, unencrypted")
    p.add_argument(
        "--tls-port",
        type=_port_from(0),
        metavar="PORT",
        help="TLS port, dialect detected (default 6697)",
    )
    p.add_argument(
        "--http-port",
        type=int,
        metavar="PORT",
        help="the web page and WebSocket (default 8080; 0: off); HTTPS when TLS is on",
    )
    p.add_argument(
        "--max-file-size", type=int, metavar="BYTES", help="largest upload (default 25 MB)"
    )
    p.add_argument(
        "--http-origin",
        metavar="ORIGINS",
        help="origins allowed to open /ws (default: the page's own, from the Host header)",
    )
    _with_defaults(p)


def _servers_arguments(p: argparse.ArgumentParser) -> None:
    """Where `chat` and `tui` connect: one server, or the nodes of one chat in turn."""
    servers = "HOST[:PORT][,HOST[:PORT]...]"
    p.add_argument(
        "server",
        nargs="?",
        metavar=servers,
        help="the server; several (nodes of one chat) are tried in turn when one cannot be"
        " reached or the connection drops, resuming where it was (same as --host)",
    )
    p.add_argument(
        "--host", metavar=servers, help="server address(es) (asked if missing; default localhost)"
    )


def _chat_parser(sub: Subcommands) -> None:
    p = sub.add_parser("chat", help="chat from this terminal")
    _servers_arguments(p)
    p.add_argument(
        "--port", type=_port_from(1), help="server port (asked if missing; default 12345)"
    )
    p.add_argument("--user", help="your username (asked if missing)")
    p.add_argument(
        "--tls",
        action="store_true",
        help="connect over TLS (default port 6697); an unknown self-signed server is pinned",
    )
    p.add_argument(
        "--ca", metavar="FILE", help="also trust this CA or certificate file (implies --tls)"
    )
    p.add_argument(
        "--web", metavar="URL", help="the server's web address, for /upload (default: HOST:8080)"
    )


def _tui_parser(sub: Subcommands) -> None:
    p = sub.add_parser(
        "tui",
        help="chat in a full-screen terminal UI (rooms, members, scroll-back)",
        description="The full-screen chat: rooms and private conversations on the left,"
        " members on the right (F2), PageUp/PageDown or the mouse scroll back (past the top"
        " loads older history), Tab completes names, rooms and /commands, Ctrl+N/Ctrl+B"
        " switch conversations, Ctrl+P opens the command palette, Ctrl+Q quits.",
    )
    _servers_arguments(p)
    p.add_argument(
        "--port", type=_port_from(1), help="server port (asked if missing; default 12345)"
    )
    p.add_argument("--user", help="your username (asked if missing)")
    p.add_argument(
        "--tls",
        action="store_true",
        help="connect over TLS (default port 6697); an unknown self-signed server is pinned",
    )
    p.add_argument(
        "--ca", metavar="FILE", help="also trust this CA or certificate file (implies --tls)"
    )


def _cert_parser(sub: Subcommands) -> None:
    p = sub.add_parser("cert", help="make a self-signed TLS certificate (for development)")
    p.add_argument(
        "--host", default="localhost", help="the server's name for clients (default localhost)"
    )
    p.add_argument(
        "--data", metavar="DIR", help="data folder: writes DIR/tls/cert.pem, key.pem (./data)"
    )
    p.add_argument("--force", action="store_true", help="replace existing files")


def _user_parser(sub: Subcommands) -> None:
    from chinwag.engine.identity import Role

    roles = [role.value for role in Role if role is not Role.GUEST]
    p = sub.add_parser(
        "user",
        help="manage accounts (also while the server runs)",
        description="Manage the accounts of a data folder or of a PostgreSQL store (--store);"
        " running servers follow at once.",
    )
    where = _Parser(add_help=False)
    where.add_argument("--config", metavar="FILE", help="TOML file of settings (or CHINWAG_CONFIG)")
    where.add_argument("--data", metavar="DIR", help="the server's data folder (default ./data)")
    where.add_argument(
        "--store", metavar="URL", help="postgresql://user@host/db: its accounts instead"
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[where], help="create an account")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=roles, default=Role.MEMBER.value)
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from one line of stdin instead of asking twice",
    )
    actions.add_parser("list", parents=[where], help="every account, its role and tokens")
    passwd = actions.add_parser(
        "passwd", parents=[where], help="set a new password (and sign the account out)"
    )
    passwd.add_argument("name", metavar="NAME")
    passwd.add_argument("--password-stdin", action="store_true", help="one line of stdin")
    role = actions.add_parser("role", parents=[where], help="give an account another role")
    role.add_argument("name", metavar="NAME")
    role.add_argument("role", metavar="ROLE", choices=roles, help=" | ".join(roles))
    delete = actions.add_parser("delete", parents=[where], help="delete an account")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    tokens = actions.add_parser("tokens", parents=[where], help="an account's login tokens")
    tokens.add_argument("name", metavar="NAME")
    tokens.add_argument("--revoke", action="store_true", help="revoke them all (sign it out)")
    audit = sub.add_parser(
        "audit",
        parents=[where],
        help="the moderation log: who kicked, banned, muted whom, and why",
    )
    audit.add_argument("--room", metavar="ROOM", help="only this room's entries")
    audit.add_argument(
        "--since", metavar="DATE", help="only entries from this day on (YYYY-MM-DD, UTC)"
    )
    audit.add_argument("--limit", type=int, default=100, metavar="N", help="newest N (100)")


def _user(args: argparse.Namespace) -> int:
    from chinwag.admin import run
    from chinwag.config import load_config
    from chinwag.errors import ConfigError

    try:
        config = load_config(
            file=args.config or os.environ.get("CHINWAG_CONFIG"),
            overrides={"data": args.data, "store": args.store},
        )
    except ConfigError as exc:
        print(f"chinwag: {exc}", file=sys.stderr)
        return 2
    return run(args, config)


def _migrate_parser(sub: Subcommands) -> None:
    p = sub.add_parser(
        "migrate",
        help="copy a data folder's SQLite store into an empty PostgreSQL database",
        description="Copy history, rooms, accounts and moderation from a data folder's SQLite"
        " store into PostgreSQL (then serve with --store URL). The data folder is only read.",
    )
    p.add_argument("--config", metavar="FILE", help="TOML file of settings (or CHINWAG_CONFIG)")
    p.add_argument("--data", metavar="DIR", help="the data folder to copy (default ./data)")
    p.add_argument("--store", metavar="URL", help="postgresql://user@host/db to copy into")


def _migrate(args: argparse.Namespace) -> int:
    import asyncio

    from chinwag.config import load_config
    from chinwag.errors import ConfigError, StoreError

    try:
        config = load_config(
            file=args.config or os.environ.get("CHINWAG_CONFIG"),
            overrides={"data": args.data, "store": args.store},
        )
        if config.data_dir is None or not config.store.startswith(("postgresql:", "postgres:")):
            raise ConfigError("migrate needs a data folder and --store postgresql://...")
        from chinwag.storage.migrate import copy
    except (ConfigError, ImportError) as exc:
        print(f"chinwag: {exc}", file=sys.stderr)
        return 2
    try:
        copied = asyncio.run(copy(config.data_dir, config.store))
    except StoreError as exc:
        print(f"chinwag: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{n} {table}" for table, n in copied.rows.items())
    print(f"Copied {config.data_dir} into {config.store_shown()}: {counts}.")
    print(f"Serve with: chinwag serve --store {config.store_shown()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chinwag", description="A self-hosted chat server.")
    parser.add_argument("--version", action="version", version=f"chinwag {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve_parser(sub)
    _chat_parser(sub)
    _tui_parser(sub)
    _user_parser(sub)
    _cert_parser(sub)
    _migrate_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "server", None) is not None:  # chat, tui: HOST[:PORT],... or --host
        if args.host is not None:
            parser.error(f"give the server once: {args.server} or --host {args.host}")
        args.host = args.server
    if args.command == "serve":
        from chinwag.config import load_config
        from chinwag.errors import ConfigError
        from chinwag.server.run import run_server

        overrides = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
        try:
            config = load_config(
                file=args.config or os.environ.get("CHINWAG_CONFIG"), overrides=overrides
            )
        except ConfigError as exc:
            print(f"chinwag: {exc}", file=sys.stderr)
            return 2
        return run_server(config)
    if args.command == "chat":
        from chinwag.client.line import run_line_client
        from chinwag.client.trust import TlsOptions

        tls = TlsOptions(ca=args.ca) if args.tls or args.ca else None
        return run_line_client(
            host=args.host, port=args.port, user=args.user, tls=tls, web=args.web
        )
    if args.command == "tui":
        from chinwag.client.trust import TlsOptions
        from chinwag.tui import run_tui

        tls = TlsOptions(ca=args.ca) if args.tls or args.ca else None
        return run_tui(host=args.host, port=args.port, user=args.user, tls=tls)
    if args.command == "cert":
        return _cert(args.host, args.data or os.environ.get("CHINWAG_DATA") or "./data", args.force)
    if args.command == "user":
        return _user(args)
    if args.command == "migrate":
        return _migrate(args)
    if args.command == "audit":
        args.action = "audit"
        return _user(args)
    return 2  # pragma: no cover - argparse enforces the choices


def _cert(host: str, data: str, force: bool) -> int:
    """`chinwag cert`: write a self-signed certificate and say how to serve with it."""
    from chinwag.certs import write_self_signed

    if data == ":memory:":
        print("chinwag: cert needs a data folder, not :memory:", file=sys.stderr)
        return 2
    try:
        made = write_self_signed(data, host, force=force)
    except OSError as exc:
        print(f"chinwag: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote a self-signed certificate for {host} (valid until {made.not_after:%Y-%m-%d}):")
    print(f"  certificate: {made.cert}")
    print(f"  private key: {made.key} (mode 0600: keep it secret)")
    print(f"SHA-256 fingerprint: {made.fingerprint}")
    print(
        "Clients that do not know this certificate show its fingerprint the first time they"
        " connect (chinwag chat --tls): tell your users to compare it with the line above."
    )
    print("Serve with:")
    quoted = [shlex.quote(str(part)) for part in (data, made.cert, made.key)]
    print("  chinwag serve --data {} --tls-cert {} --tls-key {}".format(*quoted))
    return 0
