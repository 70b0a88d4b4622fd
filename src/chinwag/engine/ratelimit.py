"""Token buckets for flood control."""

from __future__ import annotations


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; rate <= 0 disables the limit.

    A new bucket is full, so one made at a session's first command behaves exactly like one
    made when it connected: the engine makes them lazily, and never for a disabled limit.
    """

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = now

    def ready(self, now: float, cost: float = 1.0) -> bool:
        """Whether take() would grant `cost` now (nothing is taken)."""
        if self.rate <= 0:
            return True
        return min(self.burst, self._tokens + (now - self._stamp) * self.rate) >= cost

    def wait(self, now: float, cost: float = 1.0) -> float:
        """Seconds until take() would grant `cost`."""
        if self.rate <= 0:
            return 0.0
        tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        return max(0.0, (cost - tokens) / self.rate)

    def full(self, now: float) -> bool:
        """Refilled to its burst: forgetting it changes nothing."""
        return self.rate <= 0 or self._tokens + (now - self._stamp) * self.rate >= self.burst

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.rate <= 0:
            return True
        tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if tokens < cost:
            self._tokens = tokens
            return False
        self._tokens = tokens - cost
        return True


def take_lazily(
    bucket: TokenBucket | None, rate: float, burst: float, now: float
) -> tuple[bool, TokenBucket | None]:
    """Take a token, making the bucket at first use; no bucket at all while rate <= 0.

    Returns whether the token was granted and the bucket to keep (idle sessions keep None).
    """
    if bucket is None:
        if rate <= 0:
            return True, None
        bucket = TokenBucket(rate, burst, now)
    return bucket.take(now), bucket
