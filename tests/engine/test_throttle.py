"""Login throttling: the delays, the window, resets, exempt addresses, bounded tables."""

from __future__ import annotations

from chinwag.engine import throttle
from chinwag.engine.throttle import MAX_DELAY, WINDOW, LoginThrottle


def test_five_failures_are_free_then_the_delay_doubles() -> None:
    t = LoginThrottle()
    for _ in range(4):
        t.failed("alice", "10.0.0.1", 100.0)
        assert t.wait("alice", "10.0.0.1", 100.0) == 0.0
    t.failed("alice", "10.0.0.1", 100.0)  # the 5th
    assert t.wait("alice", "10.0.0.1", 100.0) == 1.0
    assert t.wait("alice", "10.0.0.1", 101.0) == 0.0
    t.failed("alice", "10.0.0.1", 101.0)  # the 6th
    assert t.wait("alice", "10.0.0.1", 101.0) == 2.0
    for _ in range(30):
        t.failed("alice", "10.0.0.1", 102.0)
    assert t.wait("alice", "10.0.0.1", 102.0) == MAX_DELAY


def test_account_and_address_count_apart_and_a_success_clears_both() -> None:
    t = LoginThrottle()
    for number in range(5):
        t.failed(f"user{number}", "10.0.0.1", 0.0)
    assert t.wait("someone", "10.0.0.1", 0.0) == 1.0  # the address guessed too often
    assert t.wait("someone", "10.0.0.2", 0.0) == 0.0
    t.succeeded("someone", "10.0.0.1")
    assert t.wait("user0", "10.0.0.1", 0.0) == 0.0


def test_failures_older_than_the_window_are_forgotten() -> None:
    t = LoginThrottle()
    for _ in range(5):
        t.failed("alice", "10.0.0.1", 0.0)
    assert t.wait("alice", "10.0.0.1", WINDOW + 1) == 0.0
    assert t.failed("alice", "10.0.0.1", WINDOW + 1) == 1  # a new window


def test_exempt_addresses_are_not_counted_but_accounts_still_are() -> None:
    t = LoginThrottle(exempt=("127.0.0.1",))
    for number in range(10):
        t.failed(f"user{number}", "127.0.0.1", 0.0)
    assert t.wait("other", "127.0.0.1", 0.0) == 0.0
    for _ in range(5):
        t.failed("alice", "127.0.0.1", 0.0)
    assert t.wait("alice", "127.0.0.1", 0.0) == 1.0


def test_the_tables_stay_bounded(monkeypatch) -> None:
    monkeypatch.setattr(throttle, "MAX_ENTRIES", 10)
    t = LoginThrottle()
    for number in range(100):
        t.failed(f"user{number}", f"10.0.{number}.1", 0.0)
    assert all(len(table) <= 10 for table in t._tables.values())
