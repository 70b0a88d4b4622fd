"""argon2id hashing off the event loop, tokens, and the bound on waiting logins."""

from __future__ import annotations

import asyncio

import pytest

from chinwag import passwords
from chinwag.passwords import Busy, Passwords, new_token, token_hash


def test_hash_and_verify_in_threads_with_a_decoy_for_unknown_accounts() -> None:
    async def scenario() -> None:
        hasher = Passwords("cheapest")
        try:
            stored = await hasher.hash("s3cret password")
            assert stored.startswith("$argon2id$") and "s3cret" not in stored
            assert await hasher.verify(stored, "s3cret password")
            assert not await hasher.verify(stored, "wrong")
            assert not await hasher.verify(None, "s3cret password")  # no account: decoy
            assert not await hasher.verify("not a hash", "s3cret password")
        finally:
            hasher.close()

    asyncio.run(scenario())


def test_a_hash_of_another_profile_needs_rehashing() -> None:
    cheap = Passwords("cheapest")
    stored = cheap.hash_now("pw")
    assert not cheap.needs_rehash(stored)
    strong = Passwords()  # argon2-cffi's recommended parameters
    assert strong.needs_rehash(stored)
    assert strong.needs_rehash("garbage")


def test_logins_past_the_waiting_bound_are_turned_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "MAX_WAITING", 3)

    async def scenario() -> None:
        hasher = Passwords("rfc9106-low-memory", workers=1)
        try:
            results = await asyncio.gather(
                *(hasher.verify(None, "pw") for _ in range(10)), return_exceptions=True
            )
        finally:
            hasher.close()
        busy = [r for r in results if isinstance(r, Busy)]
        answered = [r for r in results if not isinstance(r, Busy)]
        assert len(busy) == 10 - (3 + 1)  # MAX_WAITING waiting plus one per worker
        assert answered == [False] * (3 + 1)

    asyncio.run(scenario())


def test_tokens_are_long_random_and_hashed() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and min(len(t) for t in tokens) >= 43  # 256 bits
    token = new_token()
    assert token_hash(token) == token_hash(token) and len(token_hash(token)) == 64
    assert token not in token_hash(token)
