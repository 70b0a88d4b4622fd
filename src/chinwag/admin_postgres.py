"""`chinwag user` on a PostgreSQL store (`--store postgresql://...`).

The commands of chinwag.admin call the account SQL by the names of `sqlite_ops`; this is
the same set over asyncpg (the PostgreSQL store's own SQL, `postgres_ops`, where it has
it), run synchronously on one connection of its own event loop: the command line may block.
A change is announced with NOTIFY on the schema's channel (`accounts_channel`), which every
server on the database LISTENs to (`PostgresStore.listen_accounts`): each reads the
accounts again, as SIGUSR1 makes a server on a data folder do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

from chinwag.errors import StoreError
from chinwag.storage import postgres_ops as pg
from chinwag.storage.base import AccountRecord, AuditRecord
from chinwag.storage.postgres_schema import MIGRATIONS

T = TypeVar("T")
CONNECT_TIMEOUT = 10.0
FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def accounts_channel(schema: str) -> str:
    """The NOTIFY channel of a schema's account changes (several chats may share a DB)."""
    return f"chinwag_accounts_{schema}"[:63]  # identifiers are cut at 63 bytes


class PostgresAccounts:
    """The account operations of `chinwag user`, each its own transaction."""

    def __init__(self, dsn: str, where: str) -> None:
        self.where = where
        self._loop = asyncio.new_event_loop()
        try:
            self.db = self._run(
                asyncpg.connect(
                    dsn,
                    timeout=CONNECT_TIMEOUT,
                    server_settings={"application_name": "chinwag user"},
                )
            )
        except BaseException:
            self._loop.close()
            raise

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return self._loop.run_until_complete(coro)
        except FAILURES as exc:
            raise StoreError(f"{self.where}: {exc}") from exc

    def close(self) -> None:
        try:
            self._run(self.db.close())
        finally:
            self._loop.close()

    # ------------------------------------------------------------------ the schema

    def schema_version(self, _db: object = None) -> int:
        exists = self._run(self.db.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"))
        return self._run(pg.schema_version(self.db)) if exists else 0

    def migrate(self, _db: object, where: str) -> None:
        self._run(pg.migrate(self.db, where))

    def known_versions(self) -> int:
        return len(MIGRATIONS)

    def notify(self) -> None:
        """Tell every server on this schema that accounts changed."""
        schema = self._run(self.db.fetchval("SELECT current_schema()"))
        self._run(self.db.execute("SELECT pg_notify($1, '')", accounts_channel(str(schema))))

    # ------------------------------------------------------------------ sqlite_ops's names

    def create_account(self, _db: object, record: AccountRecord) -> bool:
        return self._run(pg.create_account(self.db, record))

    def get_account(self, _db: object, key: str) -> AccountRecord | None:
        return self._run(pg.get_account(self.db, key))

    def update_account(
        self, _db: object, key: str, password_hash: str | None, role: str | None
    ) -> bool:
        return self._run(pg.update_account(self.db, key, password_hash, role))

    def delete_account(self, _db: object, key: str) -> bool:
        return self._run(pg.delete_account(self.db, key))

    def set_password(self, _db: object, key: str, password_hash: str) -> int | None:
        return self._run(_set_password(self.db, key, password_hash))

    def revoke_tokens(self, _db: object, key: str, only: str | None, keep: str | None) -> int:
        return self._run(pg.revoke_tokens(self.db, key, only, keep))

    def account_tokens(self, _db: object, key: str, now: float) -> list[tuple[float, float]]:
        rows = self._run(
            self.db.fetch(
                "SELECT created, expires FROM tokens WHERE account = $1 AND expires > $2"
                " ORDER BY created",
                key,
                now,
            )
        )
        return [(float(created), float(expires)) for created, expires in rows]

    def list_accounts(self, _db: object) -> list[AccountRecord]:
        return self._run(pg.list_accounts(self.db))

    def token_counts(self, _db: object, now: float) -> dict[str, int]:
        rows = self._run(
            self.db.fetch(
                "SELECT account, count(*) FROM tokens WHERE expires > $1 GROUP BY account", now
            )
        )
        return {str(account): int(count) for account, count in rows}

    def audit(
        self, _db: object, room_key: str | None, since: float | None, limit: int
    ) -> list[AuditRecord]:
        return self._run(pg.audit(self.db, room_key, since, limit))


async def _set_password(db: pg.Db, key: str, password_hash: str) -> int | None:
    """A new password and none of the account's login tokens, in one transaction: how many
    tokens were revoked; None if there is no such account."""
    async with db.transaction():
        status = await db.execute(
            "UPDATE accounts SET password_hash = $1 WHERE key = $2", password_hash, key
        )
        if status != "UPDATE 1":
            return None
        revoked = await db.execute("DELETE FROM tokens WHERE account = $1", key)
    return int(revoked.rsplit(" ", 1)[-1])
