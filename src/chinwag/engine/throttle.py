"""Login throttling: password guessing gets slower the more it fails.

Failures are counted per account (the name's key) and per address, over a sliding window
(10 minutes). From the `free`-th failure on (5), the next attempt must wait: 1 s after the
5th, 2 s after the 6th, 4 s after the 7th... up to 10 minutes; an attempt made earlier is
answered `auth_throttled` without looking at the password. A success clears the account's
count and the address's. The tables are bounded (100,000 entries each): past that the entry
touched longest ago is forgotten, so a flood of names costs memory it cannot grow.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

WINDOW = 600.0  # seconds a failure counts for
FREE = 5  # failures allowed before the delays start
MAX_DELAY = 600.0
MAX_ENTRIES = 100_000  # per table


@dataclass(slots=True)
class Failures:
    count: int
    first: float  # when the window started
    last: float  # the latest failure

    def wait(self, now: float) -> float:
        """Seconds until another attempt is allowed (0.0: now)."""
        if self.count < FREE or now - self.first > WINDOW:
            return 0.0
        delay = min(MAX_DELAY, 2.0 ** (self.count - FREE))
        return max(0.0, self.last + delay - now)


class LoginThrottle:
    def __init__(self, exempt: tuple[str, ...] = ()) -> None:
        self.exempt = frozenset(exempt)  # addresses never throttled as addresses
        self.total_failed = 0  # every failure since start (the /metrics counter)
        self._tables: dict[str, OrderedDict[str, Failures]] = {
            "account": OrderedDict(),
            "address": OrderedDict(),
        }

    def _keys(self, account: str, address: str) -> list[tuple[str, str]]:
        keys = [("account", account)]
        if address not in self.exempt:
            keys.append(("address", address))
        return keys

    def wait(self, account: str, address: str, now: float) -> float:
        """Seconds the attempt must wait for (0.0: go ahead)."""
        longest = 0.0
        for table, key in self._keys(account, address):
            entry = self._tables[table].get(key)
            if entry is not None:
                longest = max(longest, entry.wait(now))
        return longest

    def failed(self, account: str, address: str, now: float) -> int:
        """Count a failure; returns the account's count in its window."""
        self.total_failed += 1
        counts = []
        for table_name, key in self._keys(account, address):
            table = self._tables[table_name]
            entry = table.get(key)
            if entry is None or now - entry.first > WINDOW:
                entry = Failures(0, now, now)
                if len(table) >= MAX_ENTRIES:
                    table.popitem(last=False)
            entry.count += 1
            entry.last = now
            table[key] = entry
            table.move_to_end(key)
            counts.append(entry.count)
        return counts[0]

    def succeeded(self, account: str, address: str) -> None:
        for table, key in self._keys(account, address):
            self._tables[table].pop(key, None)
