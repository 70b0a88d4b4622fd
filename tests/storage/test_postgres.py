"""What only the PostgreSQL store has: ids reserved in blocks (on credit past the reserve, two
stores sharing one counter, a crash), the read budget, migrations, an unreachable server.
The rest of its behaviour is the Store contract (test_store_contract.py and friends)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chinwag.errors import QueryTooExpensive, StoreError
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


def test_a_burst_past_the_reserve_is_handed_out_on_credit_and_stored(schema: str) -> None:
    async def scenario() -> None:
        store = store_in(schema, id_block=10)
        await store.open()
        taken = [store.next_id() for _ in range(1000)]  # no await: the refill cannot run
        assert taken == list(range(1, 1001))
        for id_ in taken:
            store.append(chat(id_))
        await store.commit()  # waits for a reservation that covers them
        assert store.committed_id == 1000
        assert len(await store.history("general", after=0, limit=500)) == 500
        await store.close()
        again = store_in(schema)
        assert (await again.open()).last_id == 1000
        assert again.next_id() == 1001
        await again.close()

    run(scenario())


def test_two_stores_on_one_database_never_hand_out_an_id_twice(schema: str) -> None:
    async def scenario() -> None:
        # blocks of 20, at most 5 ids a commit: the reserve never runs dry, and the
        # two stores' blocks interleave
        one, two = store_in(schema, id_block=20), store_in(schema, id_block=20)
        await one.open()
        await two.open()
        got: dict[str, list[int]] = {"one": [], "two": []}
        for round_ in range(40):
            for name, store in (("one", one), ("two", two)):
                for _ in range(round_ % 5 + 1):
                    id_ = store.next_id()
                    got[name].append(id_)
                    store.append(chat(id_, user=name))
                await store.commit()
        for taken in got.values():
            assert taken == sorted(set(taken))  # strictly increasing on each
        assert not set(got["one"]) & set(got["two"])
        history = await one.history("general", after=0, limit=500)
        assert sorted(ids(history)) == sorted(got["one"] + got["two"])
        await one.close()
        await two.close()
        third = store_in(schema)
        await third.open()
        assert third.next_id() > max(got["one"] + got["two"])
        await third.close()

    run(scenario())


def test_credit_in_another_stores_range_is_refused_then_dropped(schema: str) -> None:
    async def scenario() -> None:
        one = store_in(schema, id_block=10)
        await one.open()  # reserves 1-10
        two = store_in(schema, id_block=10)
        await two.open()  # reserves 11-20: one's credit past 10 collides with it
        on_credit = [one.next_id() for _ in range(15)]
        for id_ in on_credit:
            one.append(chat(id_, text="on credit"))
        with pytest.raises(StoreError, match="credit"):
            await one.commit()
        assert [n.id for n in one.discard()] == on_credit  # the server tells the senders
        fresh = one.next_id()
        assert fresh > 20
        one.append(chat(fresh, text="after"))
        await one.commit()
        first = two.next_id()
        two.append(chat(first, text="two's own"))
        await two.commit()
        texts = [(n.id, n.message) for n in await two.history("general")]  # type: ignore[union-attr]
        assert texts == [(first, "two's own"), (fresh, "after")]
        await one.close()
        await two.close()

    run(scenario())


def test_a_crash_leaves_a_gap_never_a_reused_id(schema: str) -> None:
    async def scenario() -> None:
        store = store_in(schema, id_block=100)
        await store.open()
        await fill(store, [chat(store.next_id()) for _ in range(5)])
        await store._close_pools()  # the process dies: ids 6-100 are never given back
        again = store_in(schema)
        state = await again.open()
        assert ids(await again.history("general")) == [1, 2, 3, 4, 5]
        assert state.last_id >= 100  # the block (and any taken ahead) is skipped
        assert again.next_id() == state.last_id + 1
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
