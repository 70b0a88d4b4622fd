"""The durable outbox: commit what the engine wrote, then write out what waited for it.

Server layer. Nothing is written to a socket while envelopes are delivered: connections
that are owed bytes are listed here, and once per loop iteration `flush` commits the store
(one transaction for everything since the last flush: group commit) and then writes each
listed connection's bytes in one `transport.write`. A connection whose bytes depend on a
message above the store's `committed_id` keeps waiting, in order: an echo means "stored".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from chinwag.errors import StoreError
from chinwag.storage.base import Store

log = logging.getLogger("chinwag.server")

COMMIT_RETRY = 0.25  # seconds between attempts after a failed commit


class Owed(Protocol):
    """A connection as the outbox sees it."""

    needs: int  # the highest message id its queued bytes depend on

    def flush(self) -> None: ...


class Outbox:
    def __init__(
        self,
        store: Store,
        loop: asyncio.AbstractEventLoop,
        *,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        before_flush: Callable[[], None],
    ) -> None:
        self.store = store
        self.loop = loop
        self._spawn = spawn
        self._before_flush = before_flush  # the fan-out queues its pending run
        self._owed: list[Owed] = []
        self._scheduled = False
        self._committing = False
        self.stopping = False  # shutting down: a failed commit is not retried forever

    def owe(self, conn: Owed) -> None:
        """A connection is owed bytes: write them at the next flush."""
        self._owed.append(conn)
        self.schedule()

    def schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit what the engine wrote, then write what no longer waits for a commit."""
        self._scheduled = False
        self._before_flush()
        store = self.store
        if store.pending and not self._committing:
            try:
                if not store.commit_now():
                    self._committing = True
                    self._spawn(self._commit())
            except StoreError as exc:
                self._commit_failed(exc)
        committed = store.committed_id
        waiting: list[Owed] = []
        for conn in self._owed:
            if conn.needs > committed:
                waiting.append(conn)
            else:
                conn.flush()
        self._owed = waiting

    async def _commit(self) -> None:
        failed: StoreError | None = None
        try:
            await self.store.commit()
        except StoreError as exc:
            failed = exc
        finally:
            self._committing = False
        if failed is None:
            self.flush()
        else:
            self._commit_failed(failed)

    def _commit_failed(self, exc: StoreError) -> None:
        """The store kept the writes and what depends on them waits: retry a little later."""
        log.error("%s; retrying in %g s", exc, COMMIT_RETRY)
        if self.stopping:
            return
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_later(COMMIT_RETRY, self.flush)
