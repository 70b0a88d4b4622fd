"""The numbers behind the chat rules, and small helpers every handler module shares."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from chinwag.bus.base import Envelope, ToSession
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode


def wall_clock() -> float:
    """Unix time in seconds, to the millisecond (what `timestamp` fields carry)."""
    return round(time.time(), 3)


@dataclass(slots=True)
class Limits:
    """Every rule with a number in it; all are settings (see chinwag.config)."""

    message_rate: float = 5.0  # chat/private/topic per second per session (0: unlimited)
    message_burst: float = 20.0
    command_rate: float = 50.0  # any command per second per session (0: unlimited)
    command_burst: float = 200.0
    history_on_join: int = 20  # messages replayed when joining a room
    replay_limit: int = 5000  # most messages replayed to a client rejoining with `since`
    max_rooms_per_user: int = 100  # rooms one session may be in
    max_rooms: int = 10_000  # rooms on the server
    rooms_per_hour: int = 10  # rooms one user may create in an hour
    rooms_per_address_hour: int = 30  # rooms one address may create in an hour
    # Addresses the per-address limits do not apply to (local benchmarks and tools).
    limit_exempt: tuple[str, ...] = ("127.0.0.1", "::1")
    max_topic: int = 300
    max_search_words: int = 16  # a search's cost grows with its words (times the room)
    max_search_bytes: int = 256
    max_page_bytes: int = 512 * 1024  # text in one history or search answer (one line)
    # Accounts (see engine/accounts.py).
    guests: str = "allow"  # "deny": every session must log in or register
    registration: str = "open"  # "closed": only an admin creates accounts (chinwag user add)
    token_days: float = 30.0  # how long a login token lets a client back in
    min_password: int = 8
    registrations_per_address_hour: int = 20


TOO_MANY_ROOMS = "You are in too many rooms already"
NOT_STORING = "The server cannot store messages right now; yours was not sent"


def reply(session: Session, notice: ev.Notice) -> Envelope:
    return Envelope(ToSession(session), notice)


def error_reply(session: Session, code: ErrorCode, message: str) -> list[Envelope]:
    return [Envelope(ToSession(session), ev.Error(code, message))]


def as_history(notice: ev.StoredNotice) -> ev.StoredNotice:
    return notice if notice.history else replace(notice, history=True)


def text_size(notice: ev.StoredNotice) -> int:
    if isinstance(notice, ev.TopicChanged):
        return len(notice.topic)
    if isinstance(notice, ev.FileShared):
        return len(notice.name) + len(notice.url)
    return len(notice.message)


def within(rows: list[ev.StoredNotice], budget: int, *, newest: bool) -> list[ev.StoredNotice]:
    """As many of the rows (in id order) as fit `budget` characters of text, at least one:
    the newest ones when paging backwards, the oldest when paging forwards."""
    size, count = 0, 0
    for notice in reversed(rows) if newest else rows:
        size += text_size(notice)
        if count and size > budget:
            break
        count += 1
    return rows[len(rows) - count :] if newest else rows[:count]
