"""Counters the server keeps for /metrics, cheap enough for the hot path.

The web front end reads them at scrape time (chinwag.web.metrics): the server never calls
a metrics library while it works, it only adds to plain ints and these buckets.
"""

from __future__ import annotations

from bisect import bisect_left

# Seconds; a local SQLite commit takes tens of microseconds, a troubled one seconds.
COMMIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)


class Histogram:
    """Observations counted into fixed buckets (upper bounds), plus their sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at most that) as Prometheus buckets, +Inf last."""
        running = 0
        buckets: list[tuple[str, int]] = []
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            buckets.append((bound, running))
        return buckets
