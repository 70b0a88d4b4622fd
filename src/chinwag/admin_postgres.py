"""`chinwag user ...` on a PostgreSQL store: `chinwag.admin.Accounts` over one asyncpg connection.

The commands stay synchronous (they prompt for passwords and hash them, blocking, on
purpose); each store call runs to its end on an event loop of this command's own
(`asyncio.Runner`). The SQL is the store's (`chinwag.storage.postgres_ops`), plus the two
reads only the command line makes (a token list, token counts). Not through `PostgresStore`:
opening one reserves blocks of message and audit ids, loads every room, membership and
ban, and opens two pools, none of which an account change needs.

After a change it announces it with NOTIFY on the schema's channel (`accounts_channel`),
which every server on the store LISTENs to (`PostgresStore.listen_accounts`): each node
re-reads its accounts as on SIGUSR1, wherever it runs.

Like the SQLite path, it creates the tables (with the server's migrations) only in a
database that has none, for a first admin before the first `chinwag serve`; a database of
another schema version is refused and left to the servers to upgrade. Every write is one
transaction with synchronous_commit on: durable when the command says it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import asyncpg

from chinwag.admin import AdminError
from chinwag.errors import StoreError
from chinwag.storage import postgres_ops as ops
from chinwag.storage.address import shown
from chinwag.storage.base import AccountRecord, AuditRecord
from chinwag.storage.postgres import CONNECT_TIMEOUT, FAILURES, WRITE_TIMEOUT
from chinwag.storage.postgres_schema import MIGRATIONS

T = TypeVar("T")
FAILED: tuple[type[BaseException], ...] = (*FAILURES, StoreError)  # a migration's too


def accounts_channel(schema: str) -> str:
    """The NOTIFY channel of a schema's account changes (several chats may share a DB)."""
    return f"chinwag_accounts_{schema}"[:63]  # identifiers are cut at 63 bytes


class PostgresAccounts:
    def __init__(self, runner: asyncio.Runner, db: asyncpg.Connection) -> None:
        self._runner = runner
        self._db = db

    def _run(self, step: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(step)

    def get(self, key: str) -> AccountRecord | None:
        return self._run(ops.get_account(self._db, key))

    def all(self) -> list[AccountRecord]:
        return self._run(ops.list_accounts(self._db))

    def create(self, record: AccountRecord) -> bool:
        return self._run(ops.create_account(self._db, record))

    def set_role(self, key: str, role: str) -> bool:
        return self._run(ops.update_account(self._db, key, None, role))

    def delete(self, key: str) -> bool:
        return self._run(ops.delete_account(self._db, key))

    def set_password(self, key: str, password_hash: str) -> int | None:
        return self._run(self._set_password(key, password_hash))

    async def _set_password(self, key: str, password_hash: str) -> int | None:
        async with self._db.transaction():
            if not await ops.update_account(self._db, key, password_hash, None):
                return None
            return await ops.revoke_tokens(self._db, key, None, None)

    def revoke_tokens(self, key: str) -> int:
        return self._run(ops.revoke_tokens(self._db, key, None, None))

    def announce(self) -> None:
        self._run(self._notify())

    async def _notify(self) -> None:
        schema = await self._db.fetchval("SELECT current_schema()")
        await self._db.execute("SELECT pg_notify($1, '')", accounts_channel(str(schema)))

    def tokens(self, key: str, now: float) -> list[tuple[float, float]]:
        rows = self._run(
            self._db.fetch(
                "SELECT created, expires FROM tokens WHERE account = $1 AND expires > $2"
                " ORDER BY created",
                key,
                now,
            )
        )
        return [(float(created), float(expires)) for created, expires in rows]

    def token_counts(self, now: float) -> dict[str, int]:
        rows = self._run(
            self._db.fetch(
                "SELECT account, count(*) FROM tokens WHERE expires > $1 GROUP BY account", now
            )
        )
        return {str(account): int(count) for account, count in rows}

    def audit(self, room_key: str | None, since: float | None, limit: int) -> list[AuditRecord]:
        return self._run(ops.audit(self._db, room_key, since, limit))


@contextlib.contextmanager
def connected(url: str, *, create: bool) -> Iterator[PostgresAccounts]:
    """The accounts of the store at `url`; its tables made first when it has none and
    `create` is set. Failures of the database become AdminError, the password never shown."""
    where = shown(url)
    with asyncio.Runner() as runner:
        try:
            db = runner.run(
                asyncpg.connect(
                    url,
                    timeout=CONNECT_TIMEOUT,
                    command_timeout=WRITE_TIMEOUT,
                    server_settings={
                        "application_name": "chinwag user",
                        "synchronous_commit": "on",
                    },
                )
            )
        except FAILURES as exc:
            raise AdminError(f"cannot connect to {where}: {_said(exc, url)}") from None
        try:
            version = runner.run(_version(db))
            if version == 0 and create:
                runner.run(ops.migrate(db, where))
            elif version == 0:
                raise AdminError(
                    f"no chinwag data in {where} (it has no tables yet): `chinwag user add`"
                    " or `chinwag serve` creates them"
                )
            elif version != len(MIGRATIONS):
                raise AdminError(
                    f"{where} has schema version {version} and this chinwag knows"
                    f" {len(MIGRATIONS)}: "
                    + (
                        "upgrade chinwag"
                        if version > len(MIGRATIONS)
                        else "start `chinwag serve` once (it upgrades the data), then try again"
                    )
                )
            yield PostgresAccounts(runner, db)
        except FAILED as exc:
            raise AdminError(f"cannot use {where}: {_said(exc, url)}") from None
        finally:
            with contextlib.suppress(*FAILURES):
                runner.run(db.close(timeout=CONNECT_TIMEOUT))


async def _version(db: asyncpg.Connection) -> int:
    """The schema version; 0 when the tables are not there (in the search_path's schema)."""
    if await db.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return await ops.schema_version(db)


def _said(exc: BaseException, url: str) -> str:
    """An error's text, without the address's password should a driver ever repeat it."""
    text = str(exc) or type(exc).__name__
    return text.replace(url, shown(url))
