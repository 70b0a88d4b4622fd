"""The moderation part of the Store contract, on every backend (conftest.py): bans and mutes,
room roles, modes and invitations, the audit log, message deletion."""

from __future__ import annotations

from chinwag.protocol.events import ChatMessage
from chinwag.storage.base import AuditRecord, RoomRecord, Sanction
from tests.storage.conftest import Backend
from tests.storage.test_store_contract import chat, fill, ids, opened, private, reopened, run, topic


def test_sanctions_roles_modes_and_invites_survive_reopen(backend: Backend) -> None:
    ban = Sanction("ban", "dev", "account:bob", 2e9, "spam", "alice", "bob")
    mute = Sanction("mute", "", "address:10.0.0.1", None, "", "admin", "guest7")

    async def scenario() -> None:
        store = await opened(backend)
        store.save_room(RoomRecord("Dev"))
        store.save_sanction(ban)
        store.save_sanction(mute)
        store.save_sanction(Sanction("ban", "dev", "name:carol", None, "first"))
        store.save_sanction(Sanction("ban", "dev", "name:carol", 5.0, "replaced", "x", "c"))
        store.save_room_role("dev", "alice", "owner")
        store.save_room_role("dev", "bob", "voice")
        store.save_room_role("dev", "bob", "operator")  # replaces
        store.save_room_role("dev", "carol", "voice")
        store.save_room_role("dev", "carol", None)  # a plain member again
        store.save_room_modes("dev", ("invite", "moderated"))
        store.save_invite("dev", "dave", True)
        store.save_invite("dev", "erin", True)
        store.save_invite("dev", "erin", False)
        await store.close()
        again = backend.store()
        state = await again.open()
        assert sorted(state.sanctions, key=lambda s: s.subject) == [
            Sanction("ban", "dev", "account:bob", 2e9, "spam", "alice", "bob"),
            mute,
            Sanction("ban", "dev", "name:carol", 5.0, "replaced", "x", "c"),
        ]
        assert state.room_roles == {"dev": {"alice": "owner", "bob": "operator"}}
        assert state.room_modes == {"dev": ("invite", "moderated")}
        assert state.invites == {"dev": {"dave"}}
        again.lift_sanction("ban", "dev", "account:bob")
        again.lift_sanction("ban", "dev", "nobody")  # nothing to lift: no harm
        again.save_room_modes("dev", ())
        await again.close()
        store = backend.store()
        state = await store.open()
        subjects = sorted(s.subject for s in state.sanctions)
        assert subjects == ["address:10.0.0.1", "name:carol"]
        assert state.room_modes.get("dev", ()) == ()
        await store.close()

    run(scenario())


def test_deleting_a_room_deletes_its_moderation(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        store.save_room(RoomRecord("gone"))
        store.save_room(RoomRecord("kept"))
        for room in ("gone", "kept"):
            store.save_sanction(Sanction("ban", room, "account:bob"))
            store.save_room_role(room, "alice", "owner")
            store.save_room_modes(room, ("invite",))
            store.save_invite(room, "carol", True)
        await store.commit()
        store.delete_room("gone")
        store.save_room(RoomRecord("Gone"))  # made again in the same batch: a new room
        await store.close()
        store = backend.store()
        state = await store.open()
        assert {r.name for r in state.rooms} == {"Gone", "kept"}
        assert [s.room_key for s in state.sanctions] == ["kept"]
        assert state.room_roles == {"kept": {"alice": "owner"}}
        assert state.room_modes == {"kept": ("invite",)}
        assert state.invites == {"kept": {"carol"}}
        await store.close()

    run(scenario())


def test_the_audit_log_pages_by_room_and_time(backend: Backend) -> None:
    def entry(ts: float, action: str, room: str = "", until: float | None = None) -> AuditRecord:
        return AuditRecord(0, ts, "alice", action, "bob", room, f"why {action}", until)

    async def scenario() -> None:
        store = await opened(backend)
        first = store.record(entry(10.0, "kick", "Dev"))
        second = store.record(entry(20.0, "ban", "", 99.0))
        third = store.record(entry(30.0, "mute", "dev"))
        assert 0 < first < second < third
        await store.commit()
        store = await reopened(backend, store)
        fourth = store.record(entry(40.0, "kick", "ops"))
        assert fourth > third  # never reused after a reopen
        await store.commit()
        everything = await store.audit(None, None, 100)
        assert [e.id for e in everything] == [first, second, third, fourth]
        assert everything[0] == AuditRecord(first, 10.0, "alice", "kick", "bob", "Dev", "why kick")
        assert everything[1].until == 99.0
        assert [e.id for e in await store.audit("dev", None, 100)] == [first, third]
        assert [e.id for e in await store.audit(None, 20.0, 100)] == [second, third, fourth]
        assert [e.id for e in await store.audit(None, None, 2)] == [third, fourth]
        assert await store.audit("nowhere", None, 100) == []
        await store.close()

    run(scenario())


def test_a_deleted_message_is_a_tombstone_and_is_not_found(backend: Backend) -> None:
    async def scenario() -> None:
        store = await opened(backend)
        await fill(
            store,
            [
                chat(1, text="secret plans"),
                chat(2, text="public plans"),
                private(3, "alice", "bob", "secret too"),
                topic(4, "general", "secret topic"),
            ],
        )
        assert await store.message(1) == chat(1, text="secret plans")
        assert await store.message(99) is None
        store.delete_message(1)
        store.delete_message(3)  # only chat messages are deleted
        store.delete_message(4)
        store.delete_message(99)  # no such message: no harm
        await store.commit()
        tombstone = ChatMessage(1, "general", "alice", "", chat(1).timestamp, deleted=True)
        assert await store.message(1) == tombstone
        assert (await store.history("general"))[0] == tombstone
        assert ids(await store.search("general", "secret", 10)) == []
        assert ids(await store.search("general", "plans", 10)) == [2]
        assert (await store.message(3)) == private(3, "alice", "bob", "secret too")
        assert ids(await store.history("general")) == [1, 2, 4]
        store = await reopened(backend, store)
        assert await store.message(1) == tombstone
        assert ids(await store.search("general", "secret", 10)) == []
        await store.close()

    run(scenario())
