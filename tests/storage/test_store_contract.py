"""The contract every `Store` backend keeps (see conftest.py for the backends)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chinwag.errors import StoreError
from chinwag.protocol.events import ChatMessage, PrivateMessage, StoredNotice, TopicChanged
from chinwag.storage.base import MAX_PAGE, RoomRecord, Store
from chinwag.storage.memory import room_of
from tests.storage.conftest import Backend

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def chat(id_: int, room: str = "general", user: str = "alice", text: str = "") -> ChatMessage:
    return ChatMessage(id_, room, user, text or f"message {id_}", 1_700_000_000.0 + id_ / 1000)


def private(id_: int, sender: str, target: str, text: str = "") -> PrivateMessage:
    return PrivateMessage(id_, sender, target, text or f"private {id_}", 1_700_000_000.5 + id_)


def topic(id_: int, room: str, text: str) -> TopicChanged:
    return TopicChanged(id_, room, "alice", text, 1_700_000_000.25 + id_)


async def opened(backend: Backend) -> Store:
    store = backend.store()
    await store.open()
    return store


async def reopened(backend: Backend, store: Store) -> Store:
    await store.close()
    return await opened(backend)


def ids(notices: Sequence[StoredNotice]) -> list[int]:
    return [n.id for n in notices]


def mixed_traffic(count: int, seed: int = 4) -> list[StoredNotice]:
    """Chat in three rooms (Dev spelled in two cases), topics and privates, ids with gaps."""
    rng = random.Random(seed)
    out: list[StoredNotice] = []
    next_id = 0
    users = ["alice", "Bob", "carol"]
    for _ in range(count):
        next_id += rng.choice((1, 1, 1, 2, 5))
        roll = rng.random()
        if roll < 0.15:
            sender, target = rng.sample(users, 2)
            out.append(private(next_id, sender, target))
        elif roll < 0.18:
            out.append(topic(next_id, rng.choice(["general", "dev"]), f"topic {next_id}"))
        else:
            room = rng.choice(["general", "general", "Dev", "dev", "ops"])
            out.append(chat(next_id, room, rng.choice(users)))
    return out


def put(
    store: Store, notice: StoredNotice, parties: tuple[str | None, str | None] | None = None
) -> None:
    """Append a notice under its own id: ids are handed out (next_id) up to it, so the
    ones skipped make gaps, as messages that were refused would. A private message's parties
    default to accounts named after its users (pass (None, None) for two guests)."""
    while store.last_id < notice.id:
        store.next_id()
    if parties is None and isinstance(notice, PrivateMessage):
        parties = (notice.username.casefold(), notice.target.casefold())
    store.append(notice, parties=parties or (None, None))


async def fill(store: Store, notices: Sequence[StoredNotice], batch: int = 250) -> None:
    for index, notice in enumerate(notices, 1):
        put(store, notice)
        if index % batch == 0:
            await store.commit()
    await store.commit()


# --------------------------------------------------------------------------- ids


def test_a_new_store_is_empty(backend: Backend) -> None:
    async def scenario() -> None:
        store = backend.store()
        state = await store.open()
        assert state.last_id == 0 and state.rooms == [] and state.memberships == {}
        assert store.committed_id == 0 and store.pending == 0
        assert await store.history("general") == []
        assert await store.recent("general", 10) == []
        assert await store.missed("alice", ["general"], 0, 10, 100) == []
        assert await store.search("general", "anything", 10) == []
        await store.close()

    run(scenario())


def test_ids_come_from_the_store_and_are_appended_in_order(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        first, second = store.next_id(), store.next_id()
        assert 0 < first < second == store.last_id
        with pytest.raises(StoreError):
            store.append(chat(second + 1))  # never handed out
        store.append(chat(first))
        with pytest.raises(StoreError):
            store.append(chat(first))  # twice
        store.append(chat(second))
        await store.commit()
        with pytest.raises(StoreError):
            store.append(chat(second))
        assert ids(await store.history("general")) == [first, second]
        assert store.committed_id == second
        await store.close()

    run(scenario())


def test_ids_are_never_reused_across_reopen(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        for id_ in (1, 2, 3, 40):
            put(store, chat(id_))
        await store.commit()
        assert store.committed_id == 40
        store = await reopened(backend, store)
        assert store.last_id == 40
        with pytest.raises(StoreError):
            store.append(chat(40))
        assert store.next_id() == 41
        store.append(private(41, "alice", "bob"), parties=("alice", "bob"))
        await store.commit()
        store = await reopened(backend, store)
        assert store.next_id() == 42
        assert ids(await store.missed("alice", ["general"], 0, 100, 100)) == [1, 2, 3, 40, 41]
        await store.close()

    run(scenario())


def test_reopen_reports_the_last_id(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(1), topic(7, "dev", "x"), private(9, "a", "b")])
        await store.close()
        again = backend.store()
        state = await again.open()
        assert state.last_id == 9
        assert again.committed_id == 9
        await again.close()

    run(scenario())


def test_uncommitted_messages_are_gone_after_a_crash(sqlite_backend: Backend) -> None:
    """Only committed writes survive; the ids of lost ones were never shown to anyone."""

    async def scenario() -> None:
        from chinwag.storage.sqlite import SQLiteStore

        store = await opened(sqlite_backend)
        await fill(store, [chat(1), chat(2)])
        put(store, chat(3))
        store.save_room(RoomRecord("lost"))
        assert isinstance(store, SQLiteStore)
        store.db.close()  # the process dies: nothing more reaches the file,
        assert store._lock is not None
        store._lock.release()  # and its lock on the data folder dies with it
        again = sqlite_backend.store()
        state = await again.open()
        assert state.last_id == 2
        assert [r.name for r in state.rooms] == []
        assert ids(await again.history("general")) == [1, 2]
        assert again.next_id() == 3  # never shown to anyone: safe to hand out again
        again.append(chat(3, text="the real three"))
        await again.close()

    run(scenario())


# --------------------------------------------------------------------------- visibility


def test_uncommitted_writes_are_not_visible(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(1, text="old words")])
        put(store, chat(2, text="fresh words"))
        put(store, private(3, "alice", "bob"))
        store.save_room(RoomRecord("dev"))
        store.save_membership("alice", "dev", True)
        assert store.pending > 0
        assert store.committed_id == 1
        assert ids(await store.history("general")) == [1]
        assert ids(await store.history("general", after=0)) == [1]
        assert ids(await store.recent("general", 10)) == [1]
        assert ids(await store.missed("alice", ["general"], 0, 10, 100)) == [1]
        assert await store.search("general", "fresh", 10) == []
        await store.commit()
        assert store.pending == 0
        assert store.committed_id == 3
        assert ids(await store.history("general")) == [1, 2]
        assert ids(await store.missed("alice", ["general"], 0, 10, 100)) == [1, 2, 3]
        assert ids(await store.search("general", "fresh", 10)) == [2]
        await store.close()

    run(scenario())


def test_commit_now_commits_or_declines(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        put(store, chat(1))
        if store.commit_now():
            assert store.pending == 0 and store.committed_id == 1
        else:  # a networked backend: the caller awaits commit() instead
            await store.commit()
        assert store.commit_now() in (True, False)  # nothing pending: harmless
        assert ids(await store.history("general")) == [1]
        await store.close()

    run(scenario())


def test_close_commits_what_is_buffered(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        put(store, chat(1))
        store.save_room(RoomRecord("dev", "talk"))
        await store.close()
        store = backend.store()
        state = await store.open()
        assert ids(await store.history("general")) == [1]
        await store.close()
        assert ("dev", "talk") in [(r.name, r.topic) for r in state.rooms]

    run(scenario())


def test_failed_commit_keeps_writes_for_a_retry(backend: Backend) -> None:
    if backend.failing_commits is None:
        pytest.skip(f"cannot make {backend.name} commits fail")

    async def scenario() -> None:
        assert backend.failing_commits is not None
        store = await opened(backend)
        await fill(store, [chat(1)])
        with backend.failing_commits(store):
            put(store, chat(2))
            store.save_room(RoomRecord("dev", "kept"))
            store.save_membership("alice", "dev", True)
            with pytest.raises(StoreError):
                await store.commit()
            assert store.committed_id == 1
            assert ids(await store.history("general")) == [1]
            put(store, chat(3))  # more writes while the store is failing
            with pytest.raises(StoreError):
                if store.commit_now():  # an embedded store commits here, or declines
                    pytest.fail("commit_now() reported success while commits fail")
                await store.commit()
            assert store.pending >= 4
        await store.commit()
        assert store.pending == 0 and store.committed_id == 3
        assert ids(await store.history("general")) == [1, 2, 3]
        await store.close()
        store = backend.store()
        state = await store.open()
        assert ("dev", "kept") in [(r.name, r.topic) for r in state.rooms]
        assert state.memberships.get("alice") == {"dev"}
        assert ids(await store.history("general")) == [1, 2, 3]
        await store.close()

    run(scenario())


# --------------------------------------------------------------------------- history


@pytest.mark.parametrize("page", [1, 77, MAX_PAGE])
def test_paging_returns_every_message_once_in_order(backend: Backend, page: int) -> None:
    traffic = mixed_traffic(3000)

    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, traffic)
        rooms = sorted({r for r in map(room_of, traffic) if r is not None})
        assert rooms == ["dev", "general", "ops"]
        for room in rooms:
            expected = [n for n in traffic if room_of(n) == room]
            if page == 1 and room != "ops":
                continue  # one message a page: one room is proof enough
            backwards: list[StoredNotice] = []
            chunk = await store.history(room, limit=page)
            while chunk:
                assert len(chunk) <= page
                assert ids(chunk) == sorted(ids(chunk))
                backwards[:0] = chunk
                chunk = await store.history(room, before=chunk[0].id, limit=page)
            assert backwards == expected
            forwards: list[StoredNotice] = []
            chunk = await store.history(room, after=0, limit=page)
            while chunk:
                assert len(chunk) <= page
                forwards.extend(chunk)
                chunk = await store.history(room, after=chunk[-1].id, limit=page)
            assert forwards == expected
        await store.close()

    run(scenario())


def test_history_pages_are_exact(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(i) for i in range(1, 21)] + [chat(21, "dev")])
        assert ids(await store.history("general", limit=3)) == [18, 19, 20]
        assert ids(await store.history("general", before=10, limit=3)) == [7, 8, 9]
        assert ids(await store.history("general", after=10, limit=3)) == [11, 12, 13]
        assert ids(await store.history("general", after=3, before=7)) == [4, 5, 6]
        assert ids(await store.history("general", before=1)) == []
        assert ids(await store.history("general", after=20)) == []
        assert ids(await store.history("general", before=10_000, limit=2)) == [19, 20]
        assert ids(await store.recent("general", 2)) == [19, 20]
        assert ids(await store.history("dev")) == [21]
        assert await store.history("nowhere") == []
        assert await store.history("general", limit=0) == []
        await store.close()

    run(scenario())


def test_room_names_keep_their_case_and_match_without_it(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(1, "Dev"), topic(2, "DEV", "Hi"), chat(3, "dev")])
        page = await store.history("dev")
        assert page == [chat(1, "Dev"), topic(2, "DEV", "Hi"), chat(3, "dev")]
        await store.close()

    run(scenario())


def test_limit_is_capped(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(i, text=f"needle {i}") for i in range(1, MAX_PAGE + 101)])
        newest = await store.history("general", limit=MAX_PAGE * 10)
        assert ids(newest) == list(range(101, MAX_PAGE + 101))
        oldest = await store.history("general", after=0, limit=10**9)
        assert ids(oldest) == list(range(1, MAX_PAGE + 1))
        assert len(await store.recent("general", MAX_PAGE + 50)) == MAX_PAGE
        found = await store.search("general", "needle", MAX_PAGE * 2)
        assert ids(found) == list(range(101, MAX_PAGE + 101))
        await store.close()

    run(scenario())


EPOCH = 1_700_000_000.0  # chat(n) is said at EPOCH + n/1000


def test_id_at_is_the_newest_message_said_before_a_time(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        assert await store.id_at(2e9) == 0  # nothing said yet
        said: list[StoredNotice] = [chat(2), chat(5, "dev")]
        said.append(replace(private(9, "a", "b"), timestamp=EPOCH + 0.009))  # ids follow time
        await fill(store, [*said, chat(12), *(chat(n, "ops") for n in range(20, 300, 7))])
        assert await store.id_at(EPOCH) == 0
        assert await store.id_at(EPOCH + 0.002) == 0  # strictly before
        assert await store.id_at(EPOCH + 0.0021) == 2
        assert await store.id_at(EPOCH + 0.006) == 5  # any room counts
        assert await store.id_at(EPOCH + 0.0095) == 9  # a private message too
        assert await store.id_at(EPOCH + 0.013) == 12
        assert await store.id_at(EPOCH + 0.2) == 195
        assert await store.id_at(EPOCH + 1.0) == 293
        put(store, chat(300))  # not committed: not seen
        assert await store.id_at(2e9) == 293
        await store.commit()
        assert await store.id_at(2e9) == 300
        await store.close()

    run(scenario())


def test_history_never_includes_private_messages(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(1), private(2, "alice", "general"), chat(3)])
        assert ids(await store.history("general")) == [1, 3]
        assert ids(await store.history("general", after=0)) == [1, 3]
        assert ids(await store.search("general", "private", 10)) == []
        await store.close()

    run(scenario())


# --------------------------------------------------------------------------- missed


def test_missed_is_exactly_the_users_share_in_the_window(backend: Backend) -> None:
    traffic = mixed_traffic(1500, seed=11)
    last = traffic[-1].id

    def expected(user: str, rooms: set[str], since: int, upto: int) -> list[StoredNotice]:
        out: list[StoredNotice] = []
        for n in traffic:
            if not since < n.id <= upto:
                continue
            if isinstance(n, PrivateMessage):
                if user in (n.username.casefold(), n.target.casefold()):
                    out.append(n)
            elif room_of(n) in rooms:
                out.append(n)
        return out

    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, traffic)
        cases = [
            ("alice", {"general", "dev"}, 0, last),
            ("bob", {"general"}, 100, 900),
            ("carol", {"ops"}, last // 2, last),
            ("alice", set(), 0, last),  # no rooms: private messages only
            ("nobody", {"dev"}, 10, 20),
            ("bob", {"dev", "ops", "general"}, last, last + 100),
        ]
        for user, rooms, since, upto in cases:
            got = await store.missed(user, sorted(rooms), since, upto, 10**6)
            assert got == expected(user, rooms, since, upto), (user, rooms, since, upto)
        both = await store.missed("bob", ["general"], 0, last, 10**6)
        assert any(isinstance(n, PrivateMessage) and n.username == "Bob" for n in both)
        assert any(isinstance(n, PrivateMessage) and n.target == "Bob" for n in both)
        capped = await store.missed("alice", ["general", "dev"], 0, last, 40)
        assert capped == expected("alice", {"general", "dev"}, 0, last)[:40]
        await store.close()

    run(scenario())


def test_missed_never_returns_uncommitted_or_other_peoples_privates(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(
            store,
            [
                private(1, "alice", "bob"),
                private(2, "bob", "alice"),
                private(3, "bob", "carol"),
                chat(4, "dev"),
                chat(5),
            ],
        )
        put(store, chat(6))
        assert ids(await store.missed("alice", ["general"], 0, 6, 100)) == [1, 2, 5]
        assert ids(await store.missed("carol", ["general", "dev"], 0, 6, 100)) == [3, 4, 5]
        assert ids(await store.missed("dave", ["general"], 0, 6, 100)) == [5]
        assert ids(await store.missed("alice", ["general"], 1, 4, 100)) == [2]
        await store.commit()
        assert ids(await store.missed("dave", ["general"], 0, 6, 100)) == [5, 6]
        await store.close()

    run(scenario())


def test_missed_gives_private_messages_to_accounts_only_never_by_name(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        put(store, private(1, "alice", "bob", "between guests"), (None, None))
        put(store, private(2, "alice", "bob", "alice signed in"), ("acct-a", None))
        put(store, private(3, "carol", "alice", "to signed-in alice"), (None, "acct-a"))
        put(store, chat(4))
        await store.commit()
        assert ids(await store.missed(None, ["general"], 0, 4, 100)) == [4]  # a guest
        assert ids(await store.missed("alice", ["general"], 0, 4, 100)) == [4]  # a name
        assert ids(await store.missed("bob", [], 0, 4, 100)) == []
        assert ids(await store.missed("acct-a", ["general"], 0, 4, 100)) == [2, 3, 4]
        await store.close()

    run(scenario())


# --------------------------------------------------------------------------- search


def test_search_finds_words(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(
            store,
            [
                chat(1, text="The quick brown fox"),
                chat(2, text="jumps over the lazy dog"),
                chat(3, "dev", text="a quick fix in dev"),
                private(4, "alice", "bob", "quick private words"),
                chat(5, text="QUICK, said the Dog! Don't wait."),
                topic(6, "general", "quick topic"),
                chat(7, text="Café déjà vu"),
            ],
        )

        async def found(query: str, room: str = "general") -> list[int]:
            return ids(await store.search(room, query, 50))

        assert await found("quick") == [1, 5]
        assert await found("Quick") == [1, 5]
        assert await found("dog quick") == [5]
        assert await found("quick dog") == [5]
        assert await found("dog") == [2, 5]
        assert await found("fox dog") == []
        assert await found("quick", "dev") == [3]
        assert await found("private") == []
        assert await found("don't") == [5]
        assert await found("café") == [7]
        assert await found("absent") == []
        assert await found("uick") == []  # a piece of a word is not a word
        assert ids(await store.search("general", "quick", 1)) == [5]
        await store.close()

    run(scenario())


def test_search_cuts_words_alike_on_every_backend(backend: Backend) -> None:
    """Words are runs of letters and digits, compared without case or diacritics (the
    memory store's `tokens`); addresses, paths and hyphenated words are their parts, and a
    query word with punctuation in it is the phrase of its parts, in that order."""

    async def scenario() -> None:
        store = await opened(backend)
        await fill(
            store,
            [
                chat(1, text="Mail bob@Example.com or see https://chinwag.example/some_path"),
                chat(2, text="a well-known CAFÉ in Zürich"),
                chat(3, text="known well, said 42 times; x2 (v1.5)"),
                chat(4, text="naïve Ünïcode çà"),
            ],
        )

        async def found(query: str) -> list[int]:
            return ids(await store.search("general", query, 50))

        assert await found("example") == [1]
        assert await found("bob@example.com") == [1]
        assert await found("path some") == [1]  # some_path is two words
        assert await found("well-known") == [2]  # the phrase, in order
        assert await found("well known") == [2, 3]  # two words, anywhere
        assert await found("cafe") == [2]
        assert await found("zurich") == [2]
        assert await found("ZÜRICH") == [2]
        assert await found("42") == [3]
        assert await found("v1.5") == [3]
        assert await found("1") == []  # in v1.5 the words are v1 and 5
        assert await found("naive unicode ca") == [4]
        assert await found("nai") == []
        await store.close()

    run(scenario())


NASTY = [
    '"',
    '""',
    "'",
    "AND",
    "OR",
    "NOT",
    "a AND",
    "OR b",
    "NOT x",
    "NEAR(a b)",
    "NEAR(",
    "*",
    "a*",
    "*a",
    "^x",
    "body:x",
    "x:",
    "(",
    ")",
    "(a OR b",
    "-x",
    "+",
    "{a b}",
    "\\",
    '"unterminated',
    'a" OR "b',
    "'; DROP TABLE messages; --",
    "%",
    "_",
    "\t",
    "\u200b",
    "😀",
    "日本語",
]


def test_search_never_raises_on_user_text(backend: Backend) -> None:
    rng = random.Random(7)
    alphabet = "ab \"*^:()-+{}'ANDORNOT.,\\%_😀"
    queries = NASTY + ["".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(300)]

    async def scenario() -> None:
        store = await opened(backend)
        await fill(
            store,
            [chat(1, text="a b AND OR NOT NEAR x body 日本語"), chat(2, text='"quoted" *star*')],
        )
        for query in queries:
            hits = await store.search("general", query, 10)
            assert ids(hits) == sorted(set(ids(hits))), query
        assert ids(await store.search("general", "NOT", 10)) == [1]
        assert ids(await store.search("general", '"quoted"', 10)) == [2]
        assert ids(await store.search("general", "star", 10)) == [2]
        assert await store.search("general", "", 10) == []
        assert await store.search("general", "   ", 10) == []
        await store.close()

    run(scenario())


# --------------------------------------------------------------------------- rooms


def test_rooms_topics_and_memberships_survive_reopen(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        store.save_room(RoomRecord("general"))
        store.save_room(RoomRecord("Dev", "first"))
        store.save_room(RoomRecord("ops"))
        store.save_membership("alice", "dev", True)
        store.save_membership("alice", "ops", True)
        store.save_membership("bob", "dev", True)
        await store.commit()
        store.save_room(RoomRecord("Dev", "second", topic_by="Bob", topic_at=1234.5))
        store.save_membership("alice", "ops", False)
        store.save_membership("carol", "ops", True)
        store.save_membership("carol", "ops", False)
        store.save_membership("bob", "dev", True)  # again: no harm
        await store.commit()
        await store.close()
        again = backend.store()
        state = await again.open()
        assert sorted((r.name, r.topic) for r in state.rooms) == [
            ("Dev", "second"),
            ("general", ""),
            ("ops", ""),
        ]
        setters = {r.name: (r.topic_by, r.topic_at) for r in state.rooms}
        assert setters == {"Dev": ("Bob", 1234.5), "general": ("", 0.0), "ops": ("", 0.0)}
        members = {user: rooms for user, rooms in state.memberships.items() if rooms}
        assert members == {"alice": {"dev"}, "bob": {"dev"}}
        await again.close()

    run(scenario())


def test_unused_rooms_are_known_and_can_be_deleted(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        for name in ("general", "quiet", "busy", "gone"):
            store.save_room(RoomRecord(name))
        store.save_membership("alice", "gone", True)
        await fill(store, [chat(1, "busy")])
        store.delete_room("gone")
        await store.close()
        store = backend.store()
        state = await store.open()
        used = {r.name: r.used for r in state.rooms}
        assert used == {"general": False, "quiet": False, "busy": True}
        assert "gone" not in {room for rooms in state.memberships.values() for room in rooms}
        await store.close()

    run(scenario())


def test_discard_drops_what_was_not_committed_and_never_reuses_its_ids(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(1, text="kept")])
        put(store, chat(2, text="lost"))
        put(store, private(3, "alice", "bob", "lost too"))
        dropped = store.discard()
        assert [(n.id, type(n).__name__) for n in dropped] == [
            (2, "ChatMessage"),
            (3, "PrivateMessage"),
        ]
        assert dropped[0] == chat(2, text="lost")
        with pytest.raises(StoreError):
            store.append(chat(3))  # handed out already: never again
        fresh = store.next_id()
        assert fresh > 3
        store.append(chat(fresh, text="after"))
        await store.commit()
        assert [m.message for m in await store.history("general")] == ["kept", "after"]  # type: ignore[union-attr]
        await store.probe()  # a working store passes its write probe
        await store.close()

    run(scenario())


def test_a_read_over_its_budget_is_stopped(tmp_path: Path) -> None:
    from chinwag.errors import QueryTooExpensive
    from chinwag.storage.sqlite import SQLiteStore

    async def scenario() -> None:
        store = SQLiteStore(tmp_path / "budget.sqlite3", query_budget=0.0)
        await store.open()
        await fill(store, [chat(i, text=f"apples and pears {i}") for i in range(1, 2001)])
        with pytest.raises(QueryTooExpensive):
            await store.search("general", "apples pears", 50)
        store.query_budget = 5.0
        assert len(await store.search("general", "apples pears", 50)) == 50
        await store.close()

    run(scenario())


# --------------------------------------------------------------------------- accounts


def test_accounts_are_created_once_updated_and_survive_reopen(backend: Backend) -> None:
    from chinwag.storage.base import AccountRecord

    async def scenario() -> None:
        store = await opened(backend)
        alice = AccountRecord("a1ice", "Alice", "$argon2id$x", "member", 1.0)
        assert await store.create_account(alice)
        assert not await store.create_account(AccountRecord("a1ice", "ALICE", "$other"))
        assert await store.account("a1ice") == alice
        assert await store.account("nobody") is None
        assert await store.update_account("a1ice", role="admin")
        assert await store.update_account("a1ice", password_hash="$new")
        assert not await store.update_account("nobody", role="admin")
        assert await store.create_account(AccountRecord("bob", "bob", "$b", created=2.0))
        store = await reopened(backend, store)
        again = await store.account("a1ice")
        assert again == AccountRecord("a1ice", "Alice", "$new", "admin", 1.0)
        assert [a.name for a in await store.accounts()] == ["Alice", "bob"]
        await store.close()
        store = backend.store()
        assert (await store.open()).accounts == {"a1ice", "bob"}
        await store.close()

    run(scenario())


def test_tokens_log_in_until_they_expire_or_are_revoked(backend: Backend) -> None:
    from chinwag.storage.base import AccountRecord

    async def scenario() -> None:
        store = await opened(backend)
        await store.create_account(AccountRecord("bob", "bob", "$b"))
        for token in ("t1", "t2", "t3"):
            await store.add_token(token, "bob", 10.0, 100.0)
        assert (await store.token_account("t1", 50.0)).name == "bob"  # type: ignore[union-attr]
        assert await store.token_account("t1", 100.0) is None  # expired
        assert await store.token_account("unknown", 50.0) is None
        assert await store.revoke_tokens("bob", only="t1") == 1
        assert await store.token_account("t1", 50.0) is None
        assert await store.revoke_tokens("bob", keep="t3") == 1  # t2 goes, t3 stays
        assert await store.token_account("t2", 50.0) is None
        assert await store.live_tokens(["t1", "t2", "t3", "nope"], 50.0) == {"t3"}
        assert await store.live_tokens(["t3"], 100.0) == set()  # expired
        assert await store.token_account("t3", 50.0) is not None
        assert await store.delete_account("bob")
        assert not await store.delete_account("bob")
        assert await store.token_account("t3", 50.0) is None  # a deleted account's go too
        await store.close()

    run(scenario())


def test_private_history_is_between_two_accounts(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        put(store, private(1, "alice", "bob", "a to b"), ("acct-a", "acct-b"))
        put(store, private(2, "bob", "alice", "b to a"), ("acct-b", "acct-a"))
        put(store, private(3, "alice", "carol", "a to c"), ("acct-a", "acct-c"))
        put(store, private(4, "alice", "bob", "guest alice to b"), (None, "acct-b"))
        put(store, chat(5))
        await store.commit()
        both = await store.private_history("acct-a", "acct-b")
        assert ids(both) == [1, 2] and ids(await store.private_history("acct-b", "acct-a")) == [
            1,
            2,
        ]
        assert ids(await store.private_history("acct-a", "acct-b", before=2)) == [1]
        assert ids(await store.private_history("acct-a", "acct-b", after=1)) == [2]
        assert ids(await store.private_history("acct-a", "acct-c")) == [3]
        assert ids(await store.private_history("acct-a", "acct-a")) == []
        await store.close()

    run(scenario())


def test_every_text_comes_back_exactly(backend: Backend) -> None:
    """What a user may send (quotes, backslashes, JSON look-alikes, emoji, U+2028, tabs)
    is stored and read back unchanged, in one batch with rooms and privates mixed."""
    texts = ['say "hi"', "back\\slash \\u0041", '{"type":"chat"}', "[1, 2]", "🎉 ünï",
             "line\u2028sep", "tab\there", "null", "0.1", " spaced "]  # fmt: skip

    async def scenario() -> None:
        store = await opened(backend)
        notices: list[StoredNotice] = []
        for number, text in enumerate(texts, 1):
            notices.append(chat(2 * number, "Dev", "alice", text))
            notices.append(private(2 * number + 1, "alice", "bob", text))
        for notice in notices:
            put(store, notice)
        await store.commit()
        store = await reopened(backend, store)
        rooms = await store.history("dev", limit=MAX_PAGE)
        privates = await store.private_history("alice", "bob")
        assert rooms == [n for n in notices if isinstance(n, ChatMessage)]
        assert privates == [n for n in notices if isinstance(n, PrivateMessage)]
        await store.close()

    run(scenario())


def test_a_nul_in_a_text_comes_back(backend: Backend) -> None:
    """A client may send U+0000 (JSON "\\u0000"): it is kept like any other character."""

    async def scenario() -> None:
        store = await opened(backend)
        notices: list[StoredNotice] = [
            chat(1, text="nul\x00inside"),
            chat(2, text="\x00"),
            topic(3, "general", "a\x00"),
        ]
        await fill(store, notices)
        store = await reopened(backend, store)
        assert await store.history("general") == notices
        assert ids(await store.search("general", "inside", 10)) == [1]
        await store.close()

    run(scenario())


def test_file_messages_come_back_whole_from_history_and_after_reopen(backend: Backend) -> None:
    from chinwag.protocol.events import FileShared

    shared = FileShared(
        2, "Dev", "bob", "plan \u00e9t\u00e9.pdf", 12_345, "application/pdf",
        "http://x:8080/api/files/dev/2", 1_700_000_002.5, sha256="cd" * 32,
    )  # fmt: skip

    async def scenario() -> None:
        store = await opened(backend)
        await fill(store, [chat(1, "dev"), shared, chat(3, "dev")])
        await store.commit()
        assert await store.history("dev", after=1, before=3) == [shared]
        assert await store.search("dev", "plan", 10) == []  # files are not chat text
        assert await store.message(2) == shared
        store.delete_message(2)
        await store.commit()
        (gone,) = await store.history("dev", after=1, before=3)
        assert isinstance(gone, FileShared) and gone.deleted and not (gone.name or gone.sha256)
        await store.close()
        if backend.persistent:
            store = await opened(backend)
            (kept,) = await store.history("dev", after=1, before=3)
            assert isinstance(kept, FileShared) and kept.deleted
            await store.close()

    run(scenario())
