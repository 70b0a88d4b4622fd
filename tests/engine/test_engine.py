"""The engine without sockets: commands in, deliveries out."""

import asyncio
from collections.abc import Iterable

import pytest

from chinwag.engine.delivery import Delivery
from chinwag.engine.engine import Engine
from chinwag.engine.limits import Limits
from chinwag.engine.session import Session
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.storage.memory import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_engine(**limits) -> tuple[Engine, Clock]:
    clock = Clock()
    engine = Engine(MemoryStore(), limits=Limits(**limits), clock=clock)
    asyncio.run(engine.start())
    return engine, clock


def inbox(deliveries: Iterable[Delivery], session: Session) -> list[ev.Notice]:
    return [d.notice for d in deliveries if session in d.to and session is not d.exclude]


def connect(engine: Engine, name: str | None) -> Session:
    session = engine.open_session(peer="test", dialect="native")
    out = engine.handle(session, ev.Join(name))
    assert isinstance(inbox(out, session)[0], ev.Welcome)
    return session


def only_error(deliveries: list[Delivery]) -> ev.Error:
    assert len(deliveries) == 1
    notice = deliveries[0].notice
    assert isinstance(notice, ev.Error)
    return notice


def test_join_welcomes_and_announces():
    engine, _ = make_engine()
    alice = connect(engine, "alice")
    bob = engine.open_session(peer="p", dialect="native")
    out = engine.handle(bob, ev.Join("bob"))
    welcome = inbox(out, bob)[0]
    assert isinstance(welcome, ev.Welcome)
    assert welcome.users == ("alice", "bob") and welcome.rooms == ("general",)
    assert inbox(out, alice) == [ev.UserJoined("general", "bob", 1000.0)]


@pytest.mark.parametrize("name", ["", "a b", "x" * 33, "bad/name", "émile", "a\n"])
def test_invalid_usernames_are_refused(name: str):
    engine, _ = make_engine()
    session = engine.open_session(peer="p", dialect="native")
    assert only_error(engine.handle(session, ev.Join(name))).code == ErrorCode.INVALID_NAME
    assert not session.joined


def test_usernames_are_unique_case_insensitively():
    engine, _ = make_engine()
    connect(engine, "Alice")
    other = engine.open_session(peer="p", dialect="native")
    error = only_error(engine.handle(other, ev.Join("alice")))
    assert error.code == ErrorCode.NAME_TAKEN and error.message == "Username already taken"
    # the name is free again once its holder leaves
    engine.close_session(engine.users["alice"], "gone")
    assert isinstance(inbox(engine.handle(other, ev.Join("alice")), other)[0], ev.Welcome)


def test_commands_before_join_are_refused():
    engine, _ = make_engine()
    session = engine.open_session(peer="p", dialect="native")
    assert only_error(engine.handle(session, ev.Chat("hi"))).code == ErrorCode.NOT_JOINED
    # but ping works before joining
    assert isinstance(engine.handle(session, ev.Ping("t"))[0].notice, ev.PongReply)


def test_chat_reaches_everyone_in_the_room_sender_included():
    engine, _ = make_engine()
    alice, bob = connect(engine, "alice"), connect(engine, "bob")
    out = engine.handle(alice, ev.Chat("Hello everyone!"))
    [delivery] = out
    assert isinstance(delivery.notice, ev.ChatMessage)
    assert set(delivery.to) == {alice, bob}
    assert delivery.durable_id == delivery.notice.id == 1
    assert engine.store.pending == 2  # the default room and the message


def test_ids_are_monotonic():
    engine, _ = make_engine()
    alice, bob = connect(engine, "alice"), connect(engine, "bob")
    ids = [engine.handle(alice, ev.Chat(f"m{i}"))[0].notice.id for i in range(3)]  # type: ignore[union-attr]
    ids.append(engine.handle(alice, ev.Private("bob", "p"))[0].notice.id)  # type: ignore[union-attr]
    assert ids == [1, 2, 3, 4]
    assert bob.joined


def test_empty_messages_are_refused():
    engine, _ = make_engine()
    alice = connect(engine, "alice")
    assert only_error(engine.handle(alice, ev.Chat("   "))).code == ErrorCode.EMPTY_MESSAGE


def test_private_goes_to_target_and_confirms_to_sender():
    engine, _ = make_engine()
    alice, bob, carol = connect(engine, "alice"), connect(engine, "bob"), connect(engine, "carol")
    out = engine.handle(alice, ev.Private("BOB", "psst"))
    [delivery] = out
    notice = delivery.notice
    assert isinstance(notice, ev.PrivateMessage)
    assert (notice.username, notice.target, notice.message) == ("alice", "bob", "psst")
    assert set(delivery.to) == {alice, bob} and carol not in delivery.to
    error = only_error(engine.handle(alice, ev.Private("nobody", "x")))
    assert error.code == ErrorCode.UNKNOWN_USER


def test_list_users_sorted():
    engine, _ = make_engine()
    bob = connect(engine, "bob")
    connect(engine, "Alice")
    [d] = engine.handle(bob, ev.ListUsers())
    assert d.notice == ev.UserList(("Alice", "bob"))


def test_rate_limit_refuses_excess_messages_with_an_error():
    engine, clock = make_engine(message_rate=1, message_burst=3)
    alice = connect(engine, "alice")
    results = [engine.handle(alice, ev.Chat("x"))[0].notice for _ in range(5)]
    assert [type(r) for r in results] == [ev.ChatMessage] * 3 + [ev.Error] * 2
    assert results[-1].code == ErrorCode.RATE_LIMITED  # type: ignore[union-attr]
    clock.now += 1.0
    assert isinstance(engine.handle(alice, ev.Chat("x"))[0].notice, ev.ChatMessage)


def test_command_flood_is_limited_too():
    engine, _ = make_engine(command_rate=1, command_burst=2)
    session = engine.open_session(peer="p", dialect="native")
    notices = [engine.handle(session, ev.Ping())[0].notice for _ in range(3)]
    assert isinstance(notices[2], ev.Error) and notices[2].code == ErrorCode.RATE_LIMITED


def test_limits_count_from_first_use_and_chat_and_topic_share_one():
    engine, clock = make_engine(message_rate=1, message_burst=2, command_rate=0)
    alice = connect(engine, "alice")
    clock.now += 3600.0  # an hour idle saves up no more than the burst
    assert isinstance(engine.handle(alice, ev.Chat("x"))[0].notice, ev.ChatMessage)
    assert isinstance(engine.handle(alice, ev.SetTopic("general", "t"))[0].notice, ev.TopicChanged)
    refused = engine.handle(alice, ev.Chat("x"))[0].notice
    assert isinstance(refused, ev.Error) and refused.code == ErrorCode.RATE_LIMITED
    assert alice.commands is None  # a limit that is off keeps no bucket
    for _ in range(300):
        assert not isinstance(engine.handle(alice, ev.Ping())[0].notice, ev.Error)


def test_quit_says_goodbye_and_asks_to_close():
    engine, _ = make_engine()
    alice = connect(engine, "alice")
    [d] = engine.handle(alice, ev.Quit())
    assert d.notice == ev.Goodbye("Goodbye, alice!") and d.close == "quit"


def test_close_session_announces_leave_to_each_room():
    engine, _ = make_engine()
    alice, bob = connect(engine, "alice"), connect(engine, "bob")
    engine.handle(alice, ev.JoinRoom("dev"))
    engine.handle(bob, ev.JoinRoom("dev"))
    out = engine.close_session(alice, "quit")
    assert {d.notice.room for d in out} == {"general", "dev"}  # type: ignore[union-attr]
    assert all(set(d.to) == {bob} for d in out)
    assert "alice" not in engine.users
    assert engine.close_session(alice, "again") == []


def test_server_picks_client_names_when_asked():
    engine, _ = make_engine()
    first, second = connect(engine, None), connect(engine, None)
    assert (first.username, second.username) == ("Client 1", "Client 2")


def test_rename_checks_and_announces():
    engine, _ = make_engine()
    guest, bob = connect(engine, None), connect(engine, "bob")
    assert only_error(engine.handle(guest, ev.Rename("BOB"))).code == ErrorCode.NAME_TAKEN
    [d] = engine.handle(guest, ev.Rename("carol"))
    assert d.notice == ev.UserRenamed("Client 1", "carol", 1000.0)
    assert set(d.to) == {guest, bob}
    assert engine.users["carol"] is guest and "client 1" not in engine.users


def test_rooms_join_leave_topic_and_list():
    engine, _ = make_engine()
    alice, bob = connect(engine, "alice"), connect(engine, "bob")
    out = engine.handle(alice, ev.JoinRoom("#Dev"))
    assert inbox(out, alice)[0] == ev.RoomJoined("Dev", "", ("alice",))
    out = engine.handle(bob, ev.JoinRoom("dev"))
    assert inbox(out, alice) == [ev.UserJoined("Dev", "bob", 1000.0)]
    [d] = engine.handle(alice, ev.SetTopic("dev", "Release 1.0"))
    assert isinstance(d.notice, ev.TopicChanged) and set(d.to) == {alice, bob}
    [d] = engine.handle(bob, ev.ListRooms())
    assert d.notice == ev.RoomList(
        (ev.RoomInfo("Dev", 2, "Release 1.0"), ev.RoomInfo("general", 2, ""))
    )
    chat = engine.handle(alice, ev.Chat("in dev", "dev"))[0]
    assert isinstance(chat.notice, ev.ChatMessage) and chat.notice.room == "Dev"
    out = engine.handle(bob, ev.LeaveRoom("dev"))
    assert inbox(out, bob) == [ev.RoomLeft("Dev")]
    assert isinstance(inbox(out, alice)[0], ev.UserLeft)
    assert only_error(engine.handle(bob, ev.Chat("x", "dev"))).code == ErrorCode.NOT_IN_ROOM
    assert only_error(engine.handle(bob, ev.Chat("x", "nope"))).code == ErrorCode.UNKNOWN_ROOM
    assert only_error(engine.handle(bob, ev.LeaveRoom("general"))).code == ErrorCode.INVALID_ROOM
    assert only_error(engine.handle(bob, ev.JoinRoom("bad room"))).code == ErrorCode.INVALID_ROOM


def test_joining_a_room_replays_recent_history():
    engine, _ = make_engine(history_on_join=2)
    alice, bob = connect(engine, "alice"), connect(engine, "bob")
    engine.handle(alice, ev.JoinRoom("dev"))
    for text in ("one", "two", "three"):
        engine.handle(alice, ev.Chat(text, "dev"))
    replay = inbox(engine.handle(bob, ev.JoinRoom("dev")), bob)[1:]
    assert [(m.message, m.history) for m in replay] == [("two", True), ("three", True)]  # type: ignore[union-attr]


def test_memberships_come_back_on_next_join():
    engine, _ = make_engine()
    alice = connect(engine, "alice")
    engine.handle(alice, ev.JoinRoom("dev"))
    engine.close_session(alice, "bye")
    again = engine.open_session(peer="p", dialect="native")
    welcome = inbox(engine.handle(again, ev.Join("alice")), again)[0]
    assert isinstance(welcome, ev.Welcome) and welcome.rooms == ("general", "dev")


def test_join_since_returns_exactly_what_was_missed():
    async def scenario():
        clock = Clock()
        engine = Engine(MemoryStore(), clock=clock)
        await engine.start()
        alice, bob = connect(engine, "alice"), connect(engine, "bob")
        engine.handle(alice, ev.JoinRoom("dev"))
        engine.handle(alice, ev.Chat("seen"))
        last_seen = engine.last_id
        engine.close_session(alice, "network")
        engine.handle(bob, ev.Chat("missed 1"))
        engine.handle(bob, ev.JoinRoom("dev"))
        engine.handle(bob, ev.Chat("missed 2", "dev"))
        engine.handle(bob, ev.Private("carol", "not for alice"))  # unknown: error, not stored
        await engine.store.commit()
        again = engine.open_session(peer="p", dialect="native")
        assert engine.is_async(ev.Join("alice", last_seen))
        out = await engine.handle_async(again, ev.Join("alice", last_seen))
        got = inbox(out, again)
        assert isinstance(got[0], ev.Welcome)
        texts = [n.message for n in got if isinstance(n, ev.ChatMessage)]
        assert texts == ["missed 1", "missed 2"]
        assert all(n.history for n in got if isinstance(n, ev.ChatMessage))

    asyncio.run(scenario())
