"""The durable outbox: commit what the engine wrote, then write out what waited for it.

Server layer. Nothing is written to a socket while envelopes are delivered: connections
that are owed bytes are listed here, and once per loop iteration `flush` starts a commit of
the store (one transaction for everything since the last one: group commit, in the store's
own thread) and writes each listed connection's bytes in one `transport.write`. A connection
whose bytes depend on a message above the store's `committed_id` keeps waiting, in order: an
echo means "stored".

When the store fails (a full disk, a locked or read-only file), nothing that depends on the
failed writes leaves, and the commit is retried with a growing delay. If it still fails after
`grace` seconds, the outbox gives up: the waiting messages are dropped from the store's
buffer and from every connection (nobody was shown them), their senders are told
`store_unavailable`, and the store is "sick": the engine refuses new messages with that
error, while pings, presence and everything else go on. A write probe every few seconds
tells when it can store again. The log says so once, then once a minute.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import Any, Protocol

from chinwag.errors import StoreError
from chinwag.protocol.events import StoredNotice
from chinwag.server.stats import COMMIT_BUCKETS, Histogram
from chinwag.storage.base import Store

log = logging.getLogger("chinwag.server")

RETRY_FIRST = 0.25  # seconds before the first retry of a failed commit; doubles up to:
RETRY_MAX = 2.0
PROBE_EVERY = 2.0  # seconds between write probes of a sick store
LOG_EVERY = 60.0  # a failing store is logged once, then at most once a minute


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
        gave_up: Callable[[list[StoredNotice]], None],
        health: Callable[[bool], None],
        grace: float = 3.0,
        committed: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self._committed = committed  # told the committed id when it moves (a broker bus)
        self._told = -1
        self.loop = loop
        self._spawn = spawn
        self._before_flush = before_flush  # the fan-out queues its pending run
        self._gave_up = gave_up  # what was dropped, to tell its senders
        self._health = health  # False when the store turns sick, True when it is back
        self.grace = grace
        self._owed: list[Owed] = []
        self._scheduled = False
        self._committing = False
        self.failing_since: float | None = None
        self.sick = False
        self._retry = RETRY_FIRST
        self._logged = 0.0
        self._progress = asyncio.Event()  # set (and replaced) whenever a commit ends
        self.stopping = False  # shutting down: a failed commit is not retried
        self.commit_seconds = Histogram(COMMIT_BUCKETS)  # /metrics

    def owe(self, conn: Owed) -> None:
        """A connection is owed bytes: write them at the next flush."""
        self._owed.append(conn)
        self.schedule()

    def schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Start a commit of what the engine wrote; write what no longer waits for one."""
        self._scheduled = False
        self._before_flush()
        store = self.store
        if store.pending and not self._committing and not self.sick:  # sick: the probe tells
            try:
                started = perf_counter()
                if not store.commit_now():
                    self._committing = True
                    self._spawn(self._commit())
                else:
                    self.commit_seconds.observe(perf_counter() - started)
                    self._progressed()
                    if self.failing_since is not None:
                        self._recovered()
            except StoreError as exc:
                self._commit_failed(exc)
        committed = store.committed_id
        if self._committed is not None and committed != self._told:
            # Whoever committed (this node, or another sharing the store): the bus sends
            # what waited for it. Every commit ends in a flush (_commit, _give_up).
            self._told = committed
            self._committed(committed)
        waiting: list[Owed] = []
        for conn in self._owed:
            if conn.needs > committed:
                waiting.append(conn)
            else:
                conn.flush()
        self._owed = waiting

    async def _commit(self) -> None:
        failed: StoreError | None = None
        started = perf_counter()
        try:
            await self.store.commit()
            self.commit_seconds.observe(perf_counter() - started)
        except StoreError as exc:
            failed = exc
        finally:
            self._committing = False
            self._progressed()
        if failed is None:
            if self.failing_since is not None:
                self._recovered()
            self.flush()
        else:
            self._commit_failed(failed)

    async def durable(self, message_id: int) -> None:
        """Until that message is stored, or the store gave up on it (or we are stopping)."""
        while self.store.committed_id < message_id and not self.sick and not self.stopping:
            progress = self._progress
            self.schedule()
            await progress.wait()

    def _progressed(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    # ------------------------------------------------------------------ a failing store

    def _commit_failed(self, exc: StoreError) -> None:
        """The store kept the writes and what depends on them waits: retry, or give up."""
        now = self.loop.time()
        if self.failing_since is None:
            self.failing_since = now
            self._logged = now
            log.error("The store is failing: %s; retrying", exc)
        elif now - self._logged >= LOG_EVERY:
            self._logged = now
            log.error("The store is still failing (%.0f s): %s", now - self.failing_since, exc)
        if self.stopping:
            return
        if self.sick or now - self.failing_since >= self.grace:
            self._give_up()
            return
        delay, self._retry = self._retry, min(RETRY_MAX, self._retry * 2)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_later(delay, self.flush)

    def _give_up(self) -> None:
        dropped = self.store.discard()
        if dropped:
            log.error(
                "Gave up storing %d messages (ids %d-%d); their senders were told",
                len(dropped),
                dropped[0].id,
                dropped[-1].id,
            )
        if not self.sick:
            self.sick = True
            self._health(False)
            self._spawn(self._probe())
        self._progressed()
        self._gave_up(dropped)  # the server drops what waited on them and tells the senders
        self.schedule()  # the connections that waited have something (else) to write

    async def _probe(self) -> None:
        while self.sick and not self.stopping:
            await asyncio.sleep(PROBE_EVERY)
            try:
                await self.store.probe()
            except StoreError as exc:
                now = self.loop.time()
                if now - self._logged >= LOG_EVERY:
                    self._logged = now
                    assert self.failing_since is not None
                    log.error(
                        "The store is still failing (%.0f s): %s", now - self.failing_since, exc
                    )
                continue
            self._recovered()

    def _recovered(self) -> None:
        assert self.failing_since is not None
        log.warning("The store works again after %.1f s", self.loop.time() - self.failing_since)
        self.failing_since = None
        self._retry = RETRY_FIRST
        if self.sick:
            self.sick = False
            self._health(True)
            self.schedule()  # rooms and memberships written while sick are committed now
