"""What the client library itself reports beside server notices, and its reconnect rule.

A front end reads one stream of `ClientEvent`s: the server's notices (chinwag.protocol.events)
interleaved with these connection-status events, so it can say "reconnecting..." at the
right place between messages without a second channel to watch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from chinwag.protocol import events as ev
from chinwag.protocol.native_client import UnreadableNotice


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection dropped; `reconnecting` says whether the library will try again."""

    reason: str
    reconnecting: bool


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """About to wait `delay` seconds, then make attempt number `attempt` (1-based); to
    `server` ("host:port") when the client was given several, "" otherwise."""

    attempt: int
    max_attempts: int | None
    delay: float
    reason: str
    server: str = ""


@dataclass(frozen=True, slots=True)
class Reconnected:
    """Joined again; the messages missed since `since` follow, marked as history."""

    welcome: ev.Welcome
    since: int
    attempts: int


@dataclass(frozen=True, slots=True)
class OlderHistory:
    """The page of older messages `ChatClient.older(conversation)` asked for (oldest first;
    none: the conversation has nothing older). The state holds them already."""

    conversation: str
    messages: tuple[ev.StoredNotice, ...]


@dataclass(frozen=True, slots=True)
class Closed:
    """The last event of a stream: the client is done (quit, closed, or gave up).

    `code` says why when it was not the user's doing and a front end may act on it:
    `auth_failed` (a rejoin's login token was refused: it expired or was revoked; log in
    again), `signed_out` (this account signed in elsewhere, or an admin ended the session),
    or another error code that refused the rejoin for good."""

    reason: str
    by_user: bool
    code: str = ""


StatusEvent = Disconnected | Reconnecting | Reconnected | OlderHistory | Closed
ClientEvent = ev.Notice | UnreadableNotice | StatusEvent


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff with jitter, so a restarted server is not hit by every client at once.

    The n-th attempt waits min(max_delay, initial_delay * factor**(n-1)) scaled down by a
    random share of up to `jitter` (0: none, 1: anywhere between 0 and the full delay).
    `max_attempts=None` retries forever; `enabled=False` never reconnects.
    """

    enabled: bool = True
    max_attempts: int | None = 10
    initial_delay: float = 0.5
    max_delay: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 or None")
        if self.initial_delay < 0 or self.max_delay < 0 or self.factor < 1:
            raise ValueError("delays must be >= 0 and factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt number `attempt` (1-based)."""
        base = min(self.max_delay, self.initial_delay * self.factor ** max(0, attempt - 1))
        share = (rng or random).random() * self.jitter
        return base * (1.0 - share)

    def allows(self, attempt: int) -> bool:
        return self.enabled and (self.max_attempts is None or attempt <= self.max_attempts)
