"""Ids handed out synchronously from blocks that are reserved ahead, asynchronously.

The PostgreSQL store numbers audit entries this way. Message ids are not: they must follow
commit order across servers, so they are taken in the committing transaction
(postgres_ops.write_sequenced) and the ids `next_id` hands out before are provisional.

`Store.next_id` is synchronous (the engine's handlers never await), and a networked
database cannot answer synchronously without blocking the event loop. So the PostgreSQL
store reserves a block of ids at a time from a counter row (`UPDATE ... SET last = last + n
RETURNING last`, its own durable transaction) and hands them out from memory. When less
than a block is left, the next block is asked for in the background; when refills come
back-to-back (within a second) the block doubles, so a busy server asks a few times a second
at most. Ids are strictly increasing and never reused, also across nodes sharing the
counter; a node's blocks need not be contiguous (another node may have reserved in between),
and a crash leaves the unused rest of a block as a gap. A clean close gives that rest back
when nobody reserved after it (`unused_tail`), so a single server's ids stay dense.

A burst can use up the reserve before the refill is back (thousands of messages handled in
one turn of the loop). Then ids are handed out *on credit*, past the reserve, and the store's
commit waits until a reservation covers every id it writes (`covered`). With one server the
next block always starts right after the last one, so credit is always covered. If another
node reserved in between, the ids given on credit in its range are void (`void`): the commit
of a batch holding one fails, and the server drops those messages and tells their senders,
as it does when the database fails (docs/DEVELOPING.md, "When the store fails").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from chinwag.errors import StoreError

log = logging.getLogger("chinwag.storage")

REFILL_FAST = 1.0  # seconds: refills closer than this double the block
MAX_BLOCK = 1 << 17

# reserve(name, n) -> the last id of the n reserved (durable when it returns)
Reserve = Callable[[str, int], Awaitable[int]]


class IdBlocks:
    def __init__(self, name: str, reserve: Reserve, *, block: int = 1000) -> None:
        self.name = name
        self._reserve = reserve
        self.block = block
        self.last = 0  # the last id handed out (above _end: on credit)
        self._end = 0  # the end of the reserved range `last` is in
        self._ranges: deque[tuple[int, int]] = deque()  # reserved, not started: (first, end)
        self._void: list[tuple[int, int]] = []  # ids given on credit in others' ranges
        self._refill: asyncio.Task[None] | None = None
        self._refilled_at = 0.0
        self._retry_at = 0.0  # after a failed reservation, not before this (monotonic)

    def start(self, last: int) -> None:
        """The counter's value at open: ids handed out so far (by anyone)."""
        self.last = self._end = last
        self._ranges.clear()
        self._void.clear()

    @property
    def left(self) -> int:
        return self._end - self.last + sum(end - first + 1 for first, end in self._ranges)

    @property
    def top(self) -> int:
        """The last id reserved by this store."""
        return self._ranges[-1][1] if self._ranges else self._end

    def take(self) -> int:
        if self.last >= self._end and self._ranges:
            first, self._end = self._ranges.popleft()
            self.last = first - 1
        self.last += 1  # past _end with no range left: on credit until the refill is back
        if self.left < self.block:  # keep a whole block ahead
            self._refill_soon()
        return self.last

    async def fill(self) -> None:
        """Reserve a block now (at open, before anything is handed out)."""
        await self._take_block()

    def _refill_soon(self) -> None:
        if self._refill is not None or time.monotonic() < self._retry_at:
            return
        self._refill = asyncio.get_running_loop().create_task(self._refill_quietly())

    async def _refill_quietly(self) -> None:
        try:
            now = time.monotonic()
            if now - self._refilled_at < REFILL_FAST:
                self.block = min(MAX_BLOCK, self.block * 2)
            self._refilled_at = now
            await self._take_block()
        except Exception as exc:  # logged; the next take() past the retry time asks again
            self._retry_at = time.monotonic() + 0.5
            log.warning("Could not reserve %s ids: %s", self.name, exc)
        finally:
            self._refill = None

    async def _take_block(self) -> None:
        size = max(self.block, self.last - self._end + self.block)  # the credit, and a block
        end = await self._reserve(self.name, size)
        first = end - size + 1
        if first <= self.top:  # cannot happen with one counter; never hand out an id twice
            raise StoreError(f"{self.name} counter went back: {end} after {self.top}")
        if self.last > self._end:  # on credit (so no range is queued)
            if first > self._end + 1 and self._end + 1 <= self.last:
                self._void.append((self._end + 1, min(first - 1, self.last)))
                log.warning("%s ids given on credit were reserved by another node", self.name)
            self.last = max(self.last, first - 1)  # never into the other node's range again
            self._end = end
        elif self.last >= self._end and not self._ranges:
            self.last, self._end = first - 1, end
        else:
            self._ranges.append((first, end))
        if self.last > self._end:
            self._refill_soon()  # the credit outran even this block

    async def covered(self, first: int, top: int, *, voids: bool = True) -> None:
        """Return once ids first..top are reserved by this store; StoreError if no
        reservation comes, or (`voids`) if one of them was given on credit in another
        node's range."""
        while top > self._end and self.last > self._end:
            self._refill_soon()
            task = self._refill
            if task is None:
                raise StoreError(f"no {self.name} ids could be reserved")
            await asyncio.gather(task, return_exceptions=True)
            if self._refill is None and top > self._end and time.monotonic() < self._retry_at:
                raise StoreError(f"no {self.name} ids could be reserved")
        self._void = [v for v in self._void if v[1] >= first]
        if not voids:
            return
        for low, high in self._void:
            if low <= top:
                raise StoreError(
                    f"{self.name} ids {low}-{high} were given on credit while another node"
                    " reserved them"
                )

    def unused_tail(self) -> tuple[int, int] | None:
        """(last handed out, top reserved) when everything between is this store's alone:
        the counter may be set back from top to last if it still reads top. None when
        ranges of others lie in between (giving back would hand their ids out again)."""
        end = self._end
        for first, range_end in self._ranges:
            if first != end + 1:
                return None
            end = range_end
        return (self.last, end) if end > self.last else None

    async def settle(self) -> None:
        """Wait for a reservation under way (before giving back or closing)."""
        task = self._refill
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
