"""Password hashes (argon2id) and login tokens: the slow, secret-handling part of accounts.

Hashing is deliberately slow (about 0.1 s and 64 MiB with argon2-cffi's recommended RFC 9106
"low memory" parameters), so the server never hashes on its event loop: `Passwords.hash` and
`Passwords.verify` run in a small thread pool (argon2-cffi releases the GIL while it works)
of one worker per core, at the lowest CPU priority (`_lower_priority`), and at most
`MAX_WAITING` logins wait for a worker; past that the server is `Busy` and the login is
asked to retry, instead of queueing without end.

Login tokens are 256 random bits (`secrets`); only their SHA-256 is stored, so a copy of the
database does not let anyone in. A plain hash suffices for tokens (unlike passwords, they
are too long to guess), and lets the store look a token up by its hash.

Neither passwords nor tokens are ever logged: this module takes them, returns booleans and
hashes, and keeps nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# argon2 parameter sets by name (a setting). "cheapest" is for tests only: it is fast
# because it is weak.
PROFILES = {
    "rfc9106-low-memory": profiles.RFC_9106_LOW_MEMORY,  # argon2-cffi's default
    "rfc9106-high-memory": profiles.RFC_9106_HIGH_MEMORY,
    "cheapest": profiles.CHEAPEST,
}
DEFAULT_PROFILE = "rfc9106-low-memory"
T = TypeVar("T")
MAX_WAITING = 256  # logins queued for a hashing worker before new ones are turned away


class Busy(Exception):
    """Too many logins are waiting for a hashing worker; try again shortly."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _lower_priority() -> None:
    """Run this hashing thread (and the lanes argon2 starts from it) only when the CPU has
    nothing else to do (Linux's SCHED_IDLE), so that a burst of logins waits for the CPU
    instead of chat: measured in docs/performance.md (a nice value of 10 still doubled
    the chat's latency during a burst; SCHED_IDLE adds a tenth). Elsewhere, the highest
    nice value."""
    tid = threading.get_native_id()
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, tid, 19)


class Passwords:
    def __init__(self, profile: str = DEFAULT_PROFILE, *, workers: int | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown password profile {profile!r}; one of {', '.join(PROFILES)}")
        self.profile = profile
        self.hasher = PasswordHasher.from_parameters(PROFILES[profile])
        self.workers = workers or os.cpu_count() or 2
        self._pool: ThreadPoolExecutor | None = None
        self._waiting = 0
        # Verified when the account does not exist, so that "no such account" takes as long
        # as "wrong password" and the two cannot be told apart by timing. Made at first
        # need (the admin command line never needs one).
        self._decoy: str | None = None

    # ---- blocking (the admin command line, and the pool's workers)

    def hash_now(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify_now(self, stored: str | None, password: str) -> bool:
        if stored is None and self._decoy is None:
            self._decoy = self.hasher.hash(secrets.token_hex(16))
        try:
            return self.hasher.verify(stored or self._decoy or "", password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """The hash was made with other parameters (a changed profile): rehash on login."""
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    # ---- off the event loop

    async def hash(self, password: str) -> str:
        return await self._run(self.hash_now, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether the password matches the hash; None (no account) is checked against a
        decoy, takes as long, and is False."""
        return await self._run(self.verify_now, stored, password)

    async def _run(self, work: Callable[..., T], *args: str | None) -> T:
        if self._waiting >= MAX_WAITING + self.workers:
            raise Busy
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.workers, thread_name_prefix="chinwag-argon2", initializer=_lower_priority
            )
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._waiting -= 1

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
