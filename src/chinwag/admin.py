"""`chinwag user ...`: an admin manages accounts in a data folder's SQLite store or in a
PostgreSQL store (`--store postgresql://...`), while servers run or not.

Layer: beside `chinwag.cli`, which parses the flags and calls `run`. Synchronous and free of
the event loop: this is not the server, so it may block (argon2 hashes here, on purpose).
The commands (checks, prompts, messages) are written once, over `Accounts`: the SQLite
store's here (`SQLiteAccounts`), the PostgreSQL store's in `chinwag.admin_postgres`.

- SQLite: it writes with the store's own SQL (`chinwag.storage.sqlite_ops`) on a connection
  of its own. SQLite in WAL mode lets it write while the server runs: a write waits at most
  `BUSY_TIMEOUT` for the server's writer (which holds the lock for milliseconds), and the
  server never waits for it (its commits try the lock and move to a thread when it is held).
  It never takes the data folder's lock (the running server holds it) and never hands out
  message ids. A data folder without a database gets one, with the server's migrations
  (creating the first admin before the server ever ran); an existing one is never migrated
  here: an older schema is the running (or next) server's to upgrade.
- After a change it tells the running server (`tell_server`): SIGUSR1 to the pid in the lock
  file, if a process holds that lock. The server then reads the accounts again
  (`ChatServer.reload_accounts`): sessions of a deleted account or of a revoked token end
  within a second, roles follow.
- PostgreSQL: servers on other machines may share the store, and there is no lock file to
  find them by; after a change the command says to send each node SIGUSR1 (`remind_nodes`).

Passwords and tokens are never printed or logged. Exit status: 0 done, 1 failed (no such
account, a name taken, the database), 2 wrong usage (a bad name or password, :memory:).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

from chinwag.config import ServerConfig
from chinwag.engine.accounts import MAX_PASSWORD
from chinwag.engine.identity import Role
from chinwag.engine.limits import wall_clock
from chinwag.engine.names import NAME_RULE, normalize_name, user_key, valid_username
from chinwag.errors import StoreError
from chinwag.passwords import Passwords
from chinwag.storage import sqlite_ops as ops
from chinwag.storage.address import is_postgres_url
from chinwag.storage.base import AccountRecord, AuditRecord
from chinwag.storage.sqlite_schema import MIGRATIONS

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, so no server to find
    fcntl = None  # type: ignore[assignment]

DATABASE = "chinwag.sqlite3"  # in the data folder, as the server names it (server/app.py)
LOCK = DATABASE + ".lock"  # flock-ed by the running server, its pid inside (storage/lock.py)
BUSY_TIMEOUT = 5.0  # seconds a write waits for the server's writer before giving up
ROLES = (Role.MEMBER.value, Role.MODERATOR.value, Role.ADMIN.value)


class AdminError(Exception):
    """A command failed; the message says why, `status` is the exit status (1 or 2)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Console:
    """Where a command reads and writes: results to `stdout`, errors and prompts to `stderr`."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    ask_password: Callable[[str], str] = getpass.getpass  # prompts on the terminal


class Accounts(Protocol):
    """What the commands read and write, each call its own durable transaction."""

    def get(self, key: str) -> AccountRecord | None: ...
    def all(self) -> list[AccountRecord]: ...
    def create(self, record: AccountRecord) -> bool: ...
    def set_role(self, key: str, role: str) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def set_password(self, key: str, password_hash: str) -> int | None:
        """The new hash and none of the account's tokens: how many were revoked (None: no
        such account)."""

    def revoke_tokens(self, key: str) -> int: ...
    def tokens(self, key: str, now: float) -> list[tuple[float, float]]:
        """(created, expires) of the account's live tokens, oldest first."""

    def token_counts(self, now: float) -> dict[str, int]: ...
    def audit(self, room_key: str | None, since: float | None, limit: int) -> list[AuditRecord]: ...
    def announce(self) -> None:
        """Tell the running servers that accounts changed, if the store can (PostgreSQL:
        NOTIFY); the SQLite path signals its one server afterwards (`tell_server`)."""


@dataclass(slots=True)
class SQLiteAccounts:
    db: sqlite3.Connection

    def get(self, key: str) -> AccountRecord | None:
        return ops.get_account(self.db, key)

    def all(self) -> list[AccountRecord]:
        return ops.list_accounts(self.db)

    def create(self, record: AccountRecord) -> bool:
        return ops.create_account(self.db, record)

    def set_role(self, key: str, role: str) -> bool:
        return ops.update_account(self.db, key, None, role)

    def delete(self, key: str) -> bool:
        return ops.delete_account(self.db, key)

    def set_password(self, key: str, password_hash: str) -> int | None:
        return ops.set_password(self.db, key, password_hash)

    def revoke_tokens(self, key: str) -> int:
        return ops.revoke_tokens(self.db, key, None, None)

    def tokens(self, key: str, now: float) -> list[tuple[float, float]]:
        return ops.account_tokens(self.db, key, now)

    def token_counts(self, now: float) -> dict[str, int]:
        return ops.token_counts(self.db, now)

    def audit(self, room_key: str | None, since: float | None, limit: int) -> list[AuditRecord]:
        return ops.audit(self.db, room_key, since, limit)

    def announce(self) -> None:
        pass  # its one server is signalled once the data folder is closed (`tell_server`)


@dataclass(slots=True)
class Context:
    accounts: Accounts
    config: ServerConfig
    console: Console
    now: float

    def say(self, text: str) -> None:
        print(text, file=self.console.stdout)


# --------------------------------------------------------------------------- entry point


def run(args: argparse.Namespace, config: ServerConfig, console: Console | None = None) -> int:
    """Run one `chinwag user` command (`args.action`); the exit status."""
    console = console or Console()
    create = args.action == "add"
    try:
        with _accounts(config, create) as accounts:
            changed = ACTIONS[args.action](Context(accounts, config, console, wall_clock()), args)
            if changed:
                accounts.announce()
    except AdminError as exc:
        print(f"chinwag: {exc}", file=console.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("\nchinwag: interrupted; nothing was changed", file=console.stderr)
        return 1
    if changed and config.store:
        remind_nodes(config, console)
    elif changed and config.data_dir is not None:
        _tell(config.data_dir, console)
    return 0


@contextlib.contextmanager
def _accounts(config: ServerConfig, create: bool) -> Iterator[Accounts]:
    """The configured store's accounts: PostgreSQL (`store`) or the data folder's SQLite."""
    if config.store:
        if not is_postgres_url(config.store):
            raise AdminError(
                f"store {config.store_shown()!r} is not known: give a postgresql://... address,"
                " or nothing for SQLite in the data folder",
                2,
            )
        try:
            from chinwag.admin_postgres import connected
        except ImportError:
            raise AdminError(
                "the PostgreSQL store needs asyncpg: pip install 'chinwag[postgres]'", 2
            ) from None
        with connected(config.store, create=create) as accounts:
            yield accounts
        return
    if config.data_dir is None:
        raise AdminError(
            "the user commands need a data folder (--data DIR, not :memory:) or --store URL", 2
        )
    with database(config.data_dir, create=create) as db:
        yield SQLiteAccounts(db)


def remind_nodes(config: ServerConfig, console: Console) -> None:
    """After a change in PostgreSQL: every server on it was told (NOTIFY); say so, and what
    to do for a server that could not hear it."""
    print(
        f"Saved in {config.store_shown()}. Told the servers on this database: each applies it"
        " at once, to sessions already connected too (a server whose listening connection was"
        " lost: send it SIGUSR1, e.g. `systemctl kill --signal=USR1 UNIT`).",
        file=console.stdout,
    )


def _tell(data: Path, console: Console) -> None:
    try:
        pid = tell_server(data)
    except OSError as exc:
        print(
            f"chinwag: the change is saved, but the running server could not be told ({exc});"
            " it applies the change when it restarts",
            file=console.stderr,
        )
        return
    if pid is not None:
        print(
            f"Told the running server (pid {pid}); it applies the change now.", file=console.stdout
        )


@contextlib.contextmanager
def database(data: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    """The data folder's database on a connection of our own; made (with the server's
    migrations) when it does not exist yet and `create` is set. SQLite's errors become
    AdminError."""
    path = data / DATABASE
    if not path.exists() and not create:
        raise AdminError(
            f"no chinwag data in {data} ({DATABASE} is missing): `chinwag user add` or"
            " `chinwag serve` creates it"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = ops.connect(str(path), synchronous="FULL", busy_timeout=BUSY_TIMEOUT)
    except (OSError, sqlite3.Error) as exc:
        raise AdminError(f"cannot open {path}: {exc}") from None
    try:
        version = ops.schema_version(db)
        if version == 0:  # a new database: the same schema the server would make
            ops.migrate(db, str(path))
        elif version != len(MIGRATIONS):
            raise AdminError(
                f"{path} has schema version {version} and this chinwag knows"
                f" {len(MIGRATIONS)}: "
                + (
                    "upgrade chinwag"
                    if version > len(MIGRATIONS)
                    else "start `chinwag serve` once (it upgrades the data), then try again"
                )
            )
        yield db
    except sqlite3.OperationalError as exc:
        hint = f" (the server held it for more than {BUSY_TIMEOUT:g} s)" if _busy(exc) else ""
        raise AdminError(f"cannot use {path}: {exc}{hint}") from None
    except (sqlite3.Error, StoreError) as exc:
        raise AdminError(f"cannot use {path}: {exc}") from None
    finally:
        db.close()


def _busy(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def tell_server(data: Path) -> int | None:
    """Send SIGUSR1 to the server running on this data folder, if one is; its pid.

    A server holds an exclusive flock on the lock file. If we can lock it ourselves (shared,
    released at once), no server runs: None. A process never signals itself (a server run
    inside it, as tests do, is told directly). OSError when the signal cannot be sent (the
    server is another user's, or in a container whose processes we cannot see)."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(data / LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: a server runs
            pid = _holder(fd)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)
    if pid is None or pid == os.getpid():
        return None  # a server starting has not read the accounts yet: it reads ours
    os.kill(pid, signal.SIGUSR1)
    return pid


def _holder(fd: int) -> int | None:
    """The pid of the process that holds the lock: as the kernel says (Linux's /proc/locks,
    in our own pid namespace, right also for a server in a container), else as the server
    wrote it in the file (None while it is starting). Never 0 or 1 (0 and -1 would signal
    groups of processes)."""
    written = os.read(fd, 32).decode(errors="replace").strip()
    stat = os.fstat(fd)
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        table = ""
    for line in table.splitlines():
        # "3: FLOCK  ADVISORY  WRITE 5246 fe:00:2146947 0 EOF" (a waiter has "->" second)
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == device:
            if int(fields[4]) <= 1:
                raise OSError(f"the server's process (pid {written or '?'}) is not visible here")
            return int(fields[4])
    return int(written) if written.isdigit() and int(written) > 1 else None


# --------------------------------------------------------------------------- the commands


def _add(ctx: Context, args: argparse.Namespace) -> bool:
    name = normalize_name(args.name)
    key = user_key(name)
    _not_taken(ctx, name, key)  # first: a look-alike of an account is told which one
    if not valid_username(name):
        raise AdminError(f"{args.name!r} cannot be a username. {NAME_RULE}", 2)
    password_hash = _new_password(ctx, args, name)
    record = AccountRecord(key, name, password_hash, args.role, ctx.now)
    if not ctx.accounts.create(record):  # made by someone else meanwhile
        _not_taken(ctx, name, key)
        raise AdminError(f"the account {name} could not be created")  # pragma: no cover
    ctx.say(f"Created the account {name} ({args.role}).")
    return True


def _not_taken(ctx: Context, name: str, key: str) -> None:
    existing = ctx.accounts.get(key)
    if existing is None:
        return
    if existing.name == name:
        raise AdminError(f"there is an account named {name} already")
    raise AdminError(
        f"{name} looks like the existing account {existing.name} (names are unique by how"
        " they look): pick another name"
    )


def _passwd(ctx: Context, args: argparse.Namespace) -> bool:
    record = _account(ctx, args.name)
    password_hash = _new_password(ctx, args, record.name)
    revoked = ctx.accounts.set_password(record.key, password_hash)
    if revoked is None:
        raise AdminError(f"the account {record.name} was deleted meanwhile")
    ended = f" and revoked its {_tokens(revoked)}: its sessions end" if revoked else ""
    ctx.say(f"Changed the password of {record.name}{ended}.")
    return revoked > 0


def _role(ctx: Context, args: argparse.Namespace) -> bool:
    record = _account(ctx, args.name)
    if record.role == args.role:
        ctx.say(f"{record.name} is {args.role} already.")
        return False
    if not ctx.accounts.set_role(record.key, args.role):
        raise AdminError(f"the account {record.name} was deleted meanwhile")
    ctx.say(f"{record.name} is now {args.role} (was {record.role}).")
    return True


def _delete(ctx: Context, args: argparse.Namespace) -> bool:
    record = _account(ctx, args.name)
    question = (
        f"Delete the account {record.name} ({record.role}), its login tokens and saved rooms?"
        " Its messages stay. [y/N] "
    )
    if not args.yes and not _confirmed(ctx.console, question):
        raise AdminError("nothing deleted")
    if not ctx.accounts.delete(record.key):
        raise AdminError(f"the account {record.name} was deleted meanwhile")
    ctx.say(f"Deleted the account {record.name}; its sessions end.")
    return True


def _confirmed(console: Console, question: str) -> bool:
    print(question, end="", file=console.stderr, flush=True)
    answer = console.stdin.readline()
    if not console.stdin.isatty():  # nobody typed the answer's newline
        print(file=console.stderr)
    return answer.strip().lower() in ("y", "yes")


def _tokens_action(ctx: Context, args: argparse.Namespace) -> bool:
    record = _account(ctx, args.name)
    if args.revoke:
        revoked = ctx.accounts.revoke_tokens(record.key)
        ended = ": its sessions end" if revoked else ""
        ctx.say(f"Revoked {_tokens(revoked)} of {record.name}{ended}.")
        return revoked > 0
    tokens = ctx.accounts.tokens(record.key, ctx.now)
    ctx.say(f"{record.name} has {_tokens(len(tokens), 'live ')}.")
    for created, expires in tokens:
        ctx.say(f"  created {_date(created)}, expires {_date(expires)}")
    return False


def _list(ctx: Context, args: argparse.Namespace) -> bool:
    records = ctx.accounts.all()
    if not records:
        ctx.say("No accounts yet: `chinwag user add NAME --role admin` makes the first.")
        return False
    counts = ctx.accounts.token_counts(ctx.now)
    rows = [("NAME", "ROLE", "CREATED", "TOKENS")] + [
        (r.name, r.role, _date(r.created), str(counts.get(r.key, 0))) for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        ctx.say("  ".join([*cells, row[3]]))
    return False


def _printable(text: str) -> str:
    """User text shown inert on the admin's terminal: controls as escapes, one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _audit(ctx: Context, args: argparse.Namespace) -> bool:
    """`chinwag audit [--room R] [--since DATE]`: the moderation log, oldest first."""
    since = None
    if args.since:
        try:
            since = datetime.strptime(args.since, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise AdminError(
                f"--since takes a date like 2026-11-22, not {args.since!r}", 2
            ) from None
    room = args.room.lstrip("#").casefold() if args.room else None
    entries = ctx.accounts.audit(room, since, max(1, args.limit))
    if not entries:
        ctx.say("No moderation actions" + (f" in {args.room}" if args.room else "") + " yet.")
        return False
    for e in entries:
        where = f" in {e.room}" if e.room else ""
        until = f" until {_date(e.until)}" if e.until is not None else ""
        reason = f" ({_printable(e.reason)})" if e.reason else ""
        target = f" {e.target}" if e.target else ""
        ctx.say(
            f"{_date(e.timestamp)}  #{e.id}  {e.actor} {e.action}{target}{where}{until}{reason}"
        )
    return False


ACTIONS: dict[str, Callable[[Context, argparse.Namespace], bool]] = {
    "audit": _audit,
    "add": _add,
    "list": _list,
    "passwd": _passwd,
    "role": _role,
    "delete": _delete,
    "tokens": _tokens_action,
}


# --------------------------------------------------------------------------- helpers


def _account(ctx: Context, raw_name: str) -> AccountRecord:
    """The account a name (or a look-alike of it) belongs to."""
    record = ctx.accounts.get(user_key(normalize_name(raw_name)))
    if record is None:
        raise AdminError(f"no account is named {raw_name} (`chinwag user list` shows them)")
    return record


def _new_password(ctx: Context, args: argparse.Namespace, name: str) -> str:
    """Read a new password (one line of stdin, or twice on the terminal), check it, hash it."""
    console = ctx.console
    if args.password_stdin:
        password = console.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = console.ask_password(f"New password for {name}: ")
        if console.ask_password("The same again: ") != password:
            raise AdminError("the two passwords differ; nothing was changed", 2)
    shortest = ctx.config.limits.min_password
    if len(password) < shortest:
        raise AdminError(f"passwords need at least {shortest} characters", 2)
    if len(password) > MAX_PASSWORD:
        raise AdminError(f"passwords have at most {MAX_PASSWORD} characters", 2)
    return Passwords(ctx.config.password_profile).hash_now(password)


def _tokens(count: int, kind: str = "") -> str:
    return f"{count} {kind}login token{'' if count == 1 else 's'}"


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
