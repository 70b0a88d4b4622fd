"""Identity on the session: a name proves nothing, so a guest inherits nothing.

Until accounts can be proven (the accounts work), every join is a guest. These tests pin
the confidentiality rule (no private replay, no saved rooms for a guest) and the account
path that a proven login will take (`Engine.admit` with an account identity).
"""

import asyncio

from chinwag.engine.engine import Engine
from chinwag.engine.identity import Identity, Role
from chinwag.engine.names import user_key
from chinwag.engine.replay import Replay
from chinwag.protocol import events as ev
from chinwag.storage.memory import MemoryStore
from tests.engine.support import T0, Harness, inbox


def test_a_guest_taking_a_name_later_gets_no_private_messages_and_no_saved_rooms():
    async def scenario():
        engine = Engine(MemoryStore())
        await engine.start()
        alice = engine.open_session(peer="a", dialect="native")
        bob = engine.open_session(peer="b", dialect="native")
        engine.handle(alice, ev.Join("alice"), T0)
        engine.handle(bob, ev.Join("bob"), T0)
        engine.handle(alice, ev.JoinRoom("secret-plans"), T0)
        engine.handle(bob, ev.Private("alice", "the code is 1234"), T0)
        engine.close_session(alice, "gone", T0)
        await engine.store.commit()

        impostor = engine.open_session(peer="x", dialect="native")
        out = engine.handle(impostor, ev.Join("alice", 0), T0)
        got = inbox(engine, out, impostor)
        welcome = got[0]
        assert isinstance(welcome, ev.Welcome) and welcome.rooms == ("general",)
        [replay] = [n for n in got if isinstance(n, Replay)]
        assert replay.account is None and replay.rooms == ("general",)
        missed = await engine.store.missed(
            replay.account, replay.rooms, replay.since, replay.upto, replay.limit
        )
        assert not [n for n in missed if isinstance(n, ev.PrivateMessage)]
        assert impostor.identity is not None and impostor.identity.guest

    asyncio.run(scenario())


def test_a_reconnecting_guest_names_the_rooms_it_wants_back():
    h = Harness()
    session = h.session()
    out = h.handle(session, ev.Join("alice", rooms=("dev", "#Ops", "bad room")))
    got = inbox(h.engine, out, session)
    welcome = got[0]
    assert isinstance(welcome, ev.Welcome) and welcome.rooms == ("general", "dev", "Ops")
    errors = [n for n in got if isinstance(n, ev.Error)]
    assert [e.code for e in errors] == [ev.ErrorCode.INVALID_ROOM]
    assert [n.room for n in got if isinstance(n, ev.RoomJoined)] == ["dev", "Ops"]


def test_an_account_gets_its_saved_rooms_back_and_a_guest_saves_none():
    h = Harness()
    guest = h.connect("gus")
    h.handle(guest, ev.JoinRoom("dev"))
    assert h.engine.memberships.saved == {}  # a guest keeps nothing

    member = Identity("alice", user_key("alice"), account="alice", role=Role.MEMBER)
    first = h.session()
    h.engine.admit(first, member, (), T0)
    h.handle(first, ev.JoinRoom("dev"))
    assert h.engine.memberships.saved == {"alice": ("dev",)}
    h.engine.close_session(first, "gone", T0)

    again = h.session()
    answer, _presence = h.engine.admit(again, member, (), T0)
    welcome = answer[0].notice
    assert isinstance(welcome, ev.Welcome) and welcome.rooms == ("general", "dev")


def test_private_messages_record_the_accounts_of_their_parties():
    async def scenario():
        store = MemoryStore()
        engine = Engine(store)
        await engine.start()
        alice = engine.open_session(peer="a", dialect="native")
        engine.admit(alice, Identity("alice", user_key("alice"), "acct-alice", Role.MEMBER), (), T0)
        bob = engine.open_session(peer="b", dialect="native")
        engine.handle(bob, ev.Join("bob"), T0)
        engine.handle(bob, ev.Private("alice", "hi"), T0)
        await store.commit()
        for_alice = await store.missed("acct-alice", [], 0, store.last_id, 10)
        assert [m.message for m in for_alice] == ["hi"]  # type: ignore[union-attr]
        assert await store.missed(None, [], 0, store.last_id, 10) == []
        assert await store.missed("alice", [], 0, store.last_id, 10) == []  # not by name

    asyncio.run(scenario())
