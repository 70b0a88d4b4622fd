"""What only the PostgreSQL store has: ids numbered at commit (provisional until then, commit
order across stores sharing one counter, a retried commit, a crash), the read budget,
migrations, an unreachable server.
The rest of its behaviour is the Store contract (test_store_contract.py and friends)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from chinwag.errors import QueryTooExpensive, StoreError
from chinwag.storage import postgres_ops as ops
from chinwag.storage.address import shown
from chinwag.storage.postgres import PostgresStore
from chinwag.storage.postgres_schema import MIGRATIONS
from tests.helpers import free_port
from tests.postgres_support import PG_URL, fresh_schema, pg_run, pg_value
from tests.storage.test_store_contract import chat, fill, ids, run


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema() as name:
        yield name


def store_in(schema: str, **options: object) -> PostgresStore:
    return PostgresStore(PG_URL, schema=schema, **options)  # type: ignore[arg-type]


def test_a_burst_is_numbered_at_commit_and_stored(schema: str) -> None:
    async def scenario() -> None:
        store = store_in(schema)
        await store.open()
        taken = [store.next_id() for _ in range(1000)]  # provisional: no network
        assert taken == list(range(1, 1001))
        for id_ in taken:
            store.append(chat(id_))
        assert store.settled(1) is None  # not committed yet
        await store.commit()
        assert store.committed_id == 1000
        # alone on the database, provisional ids are the final ones; prev chains the room
        assert [store.settled(p) for p in taken] == [(p, p - 1) for p in taken]
        assert store.settled(1) is None  # once per id
        assert len(await store.history("general", after=0, limit=500)) == 500
        assert await store.last_committed() == 1000
        await store.close()
        again = store_in(schema)
        assert (await again.open()).last_id == 1000
        assert again.next_id() == 1001
        await again.close()

    run(scenario())


def test_two_stores_number_messages_in_commit_order(schema: str) -> None:
    """Ids are taken in the committing transaction: whoever commits first gets the lower
    ids, whatever order the provisional ones were handed out in; no gap, no reuse, and
    each message knows its room's previous one."""

    async def scenario() -> None:
        one, two = store_in(schema), store_in(schema)
        await one.open()
        await two.open()
        early = [one.next_id() for _ in range(3)]  # handed out first, committed last
        for id_ in early:
            one.append(chat(id_, user="one"))
        late = [two.next_id() for _ in range(2)]
        for id_ in late:
            two.append(chat(id_, room="dev" if id_ == late[0] else "general", user="two"))
        await two.commit()
        await one.commit()
        assert [two.settled(p) for p in late] == [(1, 0), (2, 0)]
        assert [one.settled(p) for p in early] == [(3, 2), (4, 3), (5, 4)]
        history = await one.history("general")
        assert [(n.id, n.username) for n in history] == [
            (2, "two"), (3, "one"), (4, "one"), (5, "one"),
        ]  # fmt: skip
        assert one.next_id() == 4  # provisional ids are the store's own counter
        await one.close()
        await two.close()

    run(scenario())


def test_concurrent_commits_of_two_stores_give_one_gapless_sequence(schema: str) -> None:
    async def scenario() -> None:
        one, two = store_in(schema), store_in(schema)
        await one.open()
        await two.open()
        finals: list[tuple[int, int, str]] = []  # final, prev, room

        async def talk(store: PostgresStore, name: str) -> None:
            for round_ in range(30):
                batch = []
                for i in range(round_ % 4 + 1):
                    room = ("general", "dev")[(round_ + i) % 2]
                    id_ = store.next_id()
                    store.append(chat(id_, room=room, user=name))
                    batch.append((id_, room))
                await store.commit()
                for id_, room in batch:
                    final = store.settled(id_)
                    assert final is not None
                    finals.append((*final, room))

        await asyncio.gather(talk(one, "one"), talk(two, "two"))
        assert sorted(f for f, _, _ in finals) == list(range(1, len(finals) + 1))
        for room in ("general", "dev"):
            mine = sorted((f, p) for f, p, r in finals if r == room)
            history = await one.history(room, after=0, limit=500)
            assert ids(history) == [f for f, _ in mine]
            assert [p for _, p in mine] == [0, *[f for f, _ in mine][:-1]]  # each its prev
        await one.close()
        await two.close()

    run(scenario())


def test_a_retried_commit_that_went_through_is_not_stored_twice(schema: str) -> None:
    """The answer to a COMMIT was lost: the retry finds the batch in node_commits, maps
    the same final ids, and stores only what is new."""

    async def scenario() -> None:
        store = store_in(schema)
        await store.open()
        first = [store.next_id() for _ in range(3)]
        for id_ in first:
            store.append(chat(id_))
        batch = store._batch
        todo = ops.statements(batch)
        assert store._writes is not None
        async with store._writes.acquire() as db:
            done = await ops.write_sequenced(db, todo, store._node, 0, batch.top, False)
        # the store never learnt: it retries the same batch, with one more message
        store._uncertain = True
        more = store.next_id()
        store.append(chat(more, text="new"))
        await store.commit()
        assert [store.settled(p) for p in first] == [done[p] for p in first]
        assert store.settled(more) == (4, 3)
        history = await store.history("general")
        assert ids(history) == [1, 2, 3, 4]
        await store.close()

    run(scenario())


def test_a_crash_leaves_no_gap_and_reuses_no_id(schema: str) -> None:
    async def scenario() -> None:
        store = store_in(schema)
        await store.open()
        await fill(store, [chat(store.next_id()) for _ in range(5)])
        store.append(chat(store.next_id(), text="never committed"))
        await store._close_pools()  # the process dies: id 6 was only provisional
        again = store_in(schema)
        state = await again.open()
        assert ids(await again.history("general")) == [1, 2, 3, 4, 5]
        assert state.last_id == 5
        assert again.next_id() == 6
        await again.close()

    run(scenario())


def test_a_read_over_its_budget_is_stopped(schema: str) -> None:
    async def scenario() -> None:
        store = store_in(schema)
        await store.open()
        notices = [chat(store.next_id(), text=f"apples and pears {i}") for i in range(20_000)]
        await fill(store, notices, batch=5000)
        await store.close()
        hurried = store_in(schema, query_budget=0.001)
        await hurried.open()
        with pytest.raises(QueryTooExpensive):
            # every row matches: the read sorts 20,000 rows, far more than 1 ms of work
            await hurried.search("general", "apples pears", 50)
        await hurried.close()
        patient = store_in(schema, query_budget=5.0)
        await patient.open()
        assert len(await patient.search("general", "apples pears", 50)) == 50
        await patient.close()

    run(scenario())


def test_migrations_are_versioned_and_a_newer_database_is_refused(schema: str) -> None:
    async def scenario() -> None:
        store = store_in(schema)
        await store.open()
        assert await store.schema_version() == len(MIGRATIONS)
        await store.close()
        pg_run(f'UPDATE "{schema}".schema_version SET version = 99')
        newer = store_in(schema)
        with pytest.raises(StoreError, match="newer than this chinwag knows"):
            await newer.open()
        await newer.close()  # nothing was left open

    run(scenario())


def test_an_unreachable_server_is_a_store_error() -> None:
    async def scenario() -> None:
        store = PostgresStore(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none")
        with pytest.raises(StoreError, match="cannot open") as raised:
            await store.open()
        assert "secret" not in str(raised.value)  # the password is never shown

    run(scenario())


def test_passwords_are_not_shown() -> None:
    assert shown("postgresql://u:pw@db.example:5433/chat") == (
        "postgresql://u:***@db.example:5433/chat"
    )
    assert shown("postgresql://u@h/chat") == "postgresql://u@h/chat"


def test_words_too_long_or_too_far_for_a_tsvector_do_not_stop_a_commit(schema: str) -> None:
    async def scenario() -> None:
        store = store_in(schema)
        await store.open()
        long_word = "日" * 1000  # 3,000 bytes: more than a tsvector word may hold
        many = " ".join(f"w{i}" for i in range(20_000)) + " last"  # past position 16,383
        await fill(store, [chat(1, text=f"{long_word} findme"), chat(2, text=many)])
        assert ids(await store.search("general", "findme", 10)) == [1]
        assert ids(await store.search("general", "last", 10)) == [2]
        assert ids(await store.search("general", "w5 w6", 10)) == [2]
        assert await store.search("general", long_word, 10) == []  # not indexed: not found
        assert [n.message for n in await store.history("general")] == [  # type: ignore[union-attr]
            f"{long_word} findme",
            many,
        ]
        await store.close()

    run(scenario())


def test_lost_connections_fail_a_commit_and_the_next_one_stores_everything(schema: str) -> None:
    """PostgreSQL drops the store's connections (a restart, a failover): the commit under
    way fails and keeps its writes, the next one reconnects and stores them, once."""

    async def scenario() -> None:
        store = store_in(schema)
        await store.open()
        await fill(store, [chat(store.next_id())])
        for _ in range(3):
            store.append(chat(store.next_id(), text="kept"))
        dropped = pg_value(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            f" WHERE application_name = 'chinwag {schema}'"
        )
        assert dropped >= 2  # the writers' and the readers' pools
        failed = 0
        for _ in range(4):  # the pool notices a dead connection (of 3 at most) when it uses it
            try:
                await store.commit()
                break
            except StoreError:
                failed += 1
        assert failed <= 3 and store.pending == 0
        for _ in range(3):  # the readers reconnect too (or fail once per dead connection)
            try:
                page = await store.history("general")
                break
            except StoreError:
                continue
        assert [n.message for n in page] == ["message 1", "kept", "kept", "kept"]  # type: ignore[union-attr]
        await store.close()

    run(scenario())
