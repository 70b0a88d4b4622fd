"""The engine without sockets: commands in, envelopes (notice + audience) out."""

import pytest

from chinwag.bus.base import ToRoom, ToSession, ToUser
from chinwag.engine.names import user_key
from chinwag.engine.replay import Replay
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.storage.memory import MemoryStore
from tests.engine.support import T0, Harness, inbox, only_error, recipients


def test_join_welcomes_and_announces():
    h = Harness()
    alice = h.connect("alice")
    bob = h.session()
    out = h.handle(bob, ev.Join("bob"))
    welcome = inbox(h.engine, out, bob)[0]
    assert isinstance(welcome, ev.Welcome)
    assert welcome.users == ("alice", "bob") and welcome.rooms == ("general",)
    assert inbox(h.engine, out, alice) == [ev.UserJoined("general", "bob", T0)]
    assert bob.identity is not None and bob.identity.guest and bob.identity.name == "bob"


@pytest.mark.parametrize(
    "name", ["", "a b", "x" * 33, "bad/name", "a\n", "a\u202eb", "a\u200db", "\u0430lice"]
)
def test_invalid_usernames_are_refused(name: str):
    h = Harness()
    session = h.session()
    assert only_error(h.handle(session, ev.Join(name))).code == ErrorCode.INVALID_NAME
    assert not session.joined


def test_usernames_are_unique_case_insensitively():
    h = Harness()
    alice = h.connect("Alice")
    other = h.session()
    error = only_error(h.handle(other, ev.Join("alice")))
    assert error.code == ErrorCode.NAME_TAKEN and error.message == "Username already taken"
    h.engine.close_session(alice, "gone", T0)  # the name is free again once its holder leaves
    assert isinstance(inbox(h.engine, h.handle(other, ev.Join("alice")), other)[0], ev.Welcome)


def test_commands_before_join_are_refused():
    h = Harness()
    session = h.session()
    assert only_error(h.handle(session, ev.Chat("hi"))).code == ErrorCode.NOT_JOINED
    assert isinstance(h.handle(session, ev.Ping("t"))[0].notice, ev.PongReply)  # ping works


def test_chat_goes_to_the_room_audience_sender_included():
    h = Harness()
    alice, bob = h.connect("alice"), h.connect("bob")
    [envelope] = h.handle(alice, ev.Chat("Hello everyone!"))
    assert isinstance(envelope.notice, ev.ChatMessage)
    assert envelope.audience == ToRoom("general")
    assert recipients(h.engine, envelope) == {alice, bob}
    assert envelope.id == envelope.notice.id == 1
    assert h.engine.store.pending == 2  # the default room and the message


def test_ids_come_from_the_store():
    store = MemoryStore()
    for _ in range(41):
        store.next_id()
    h = Harness(store)
    alice, _bob = h.connect("alice"), h.connect("bob")
    ids = [h.handle(alice, ev.Chat(f"m{i}"))[0].notice.id for i in range(3)]  # type: ignore[union-attr]
    ids.append(h.handle(alice, ev.Private("bob", "p"))[0].notice.id)  # type: ignore[union-attr]
    assert ids == [42, 43, 44, 45] and store.last_id == 45
    assert not hasattr(h.engine, "last_id")


def test_empty_messages_are_refused():
    h = Harness()
    alice = h.connect("alice")
    assert only_error(h.handle(alice, ev.Chat("   "))).code == ErrorCode.EMPTY_MESSAGE


def test_private_goes_to_the_target_user_and_confirms_to_the_sender_session():
    h = Harness()
    alice, bob, carol = h.connect("alice"), h.connect("bob"), h.connect("carol")
    out = h.handle(alice, ev.Private("BOB", "psst"))
    assert [e.audience for e in out] == [ToUser("bob"), ToSession(alice)] or (
        out[0].audience == ToUser("bob") and out[1].audience.session is alice  # type: ignore[union-attr]
    )
    notice = out[0].notice
    assert isinstance(notice, ev.PrivateMessage) and out[1].notice is notice
    assert (notice.username, notice.target, notice.message) == ("alice", "bob", "psst")
    assert all(e.id == notice.id for e in out)
    assert inbox(h.engine, out, carol) == []
    assert inbox(h.engine, out, bob) == [notice] and inbox(h.engine, out, alice) == [notice]
    assert only_error(h.handle(alice, ev.Private("nobody", "x"))).code == ErrorCode.UNKNOWN_USER


def test_list_users_sorted():
    h = Harness()
    bob = h.connect("bob")
    h.connect("Alice")
    [envelope] = h.handle(bob, ev.ListUsers())
    assert envelope.notice == ev.UserList(("Alice", "bob"))


def test_rate_limit_refuses_excess_messages_with_an_error():
    h = Harness(message_rate=1, message_burst=3)
    alice = h.connect("alice")
    results = [h.handle(alice, ev.Chat("x"))[0].notice for _ in range(5)]
    assert [type(r) for r in results] == [ev.ChatMessage] * 3 + [ev.Error] * 2
    assert results[-1].code == ErrorCode.RATE_LIMITED  # type: ignore[union-attr]
    h.now += 1.0
    assert isinstance(h.handle(alice, ev.Chat("x"))[0].notice, ev.ChatMessage)


def test_commands_are_admitted_at_their_rate_and_told_how_long_to_wait():
    h = Harness(command_rate=2, command_burst=3)
    session = h.session()
    assert [h.engine.take_command(session, T0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert h.engine.take_command(session, T0) == 0.5  # one token at 2 a second
    assert h.engine.take_command(session, T0 + 0.5) == 0.0


def test_limits_count_from_first_use_and_chat_and_topic_share_one():
    h = Harness(message_rate=1, message_burst=2, command_rate=0)
    alice = h.connect("alice")
    h.now += 3600.0  # an hour idle saves up no more than the burst
    assert isinstance(h.handle(alice, ev.Chat("x"))[0].notice, ev.ChatMessage)
    assert isinstance(h.handle(alice, ev.SetTopic("general", "t"))[0].notice, ev.TopicChanged)
    refused = h.handle(alice, ev.Chat("x"))[0].notice
    assert isinstance(refused, ev.Error) and refused.code == ErrorCode.RATE_LIMITED
    assert alice.commands is None  # a limit that is off keeps no bucket
    for _ in range(300):
        assert h.engine.take_command(alice, h.now) == 0.0


def test_quit_says_goodbye_and_asks_to_close():
    h = Harness()
    alice = h.connect("alice")
    [envelope] = h.handle(alice, ev.Quit())
    assert envelope.notice == ev.Goodbye("Goodbye, alice!") and envelope.close == "quit"


def test_close_session_announces_leave_to_each_room():
    h = Harness()
    alice, bob = h.connect("alice"), h.connect("bob")
    h.handle(alice, ev.JoinRoom("dev"))
    h.handle(bob, ev.JoinRoom("dev"))
    out = h.engine.close_session(alice, "quit", T0)
    assert {e.notice.room for e in out} == {"general", "dev"}  # type: ignore[union-attr]
    assert all(recipients(h.engine, e) == {bob} for e in out)
    assert user_key("alice") not in h.engine.memberships.online
    assert h.engine.close_session(alice, "again", T0) == []


def test_server_picks_client_names_when_asked():
    h = Harness()
    first, second = h.connect(None), h.connect(None)
    assert (first.name, second.name) == ("Client 1", "Client 2")


def test_rename_checks_and_announces_to_everyone_who_shares_a_room():
    h = Harness()
    guest, bob = h.connect(None), h.connect("bob")
    assert only_error(h.handle(guest, ev.Rename("BOB"))).code == ErrorCode.NAME_TAKEN
    [envelope] = h.handle(guest, ev.Rename("carol"))
    assert envelope.notice == ev.UserRenamed("Client 1", "carol", T0)
    assert recipients(h.engine, envelope) == {guest, bob}
    online = h.engine.memberships.online
    assert online[user_key("carol")] is guest and user_key("Client 1") not in online


def test_rooms_join_leave_topic_and_list():
    h = Harness()
    alice, bob = h.connect("alice"), h.connect("bob")
    out = h.handle(alice, ev.JoinRoom("#Dev"))
    assert inbox(h.engine, out, alice)[0] == ev.RoomJoined("Dev", "", ("alice",))
    out = h.handle(bob, ev.JoinRoom("dev"))
    assert inbox(h.engine, out, alice) == [ev.UserJoined("Dev", "bob", T0)]
    [envelope] = h.handle(alice, ev.SetTopic("dev", "Release 1.0"))
    assert isinstance(envelope.notice, ev.TopicChanged)
    assert recipients(h.engine, envelope) == {alice, bob}
    [envelope] = h.handle(bob, ev.ListRooms())
    assert envelope.notice == ev.RoomList(
        (ev.RoomInfo("Dev", 2, "Release 1.0", "alice", T0), ev.RoomInfo("general", 2, ""))
    )
    carol = h.connect("carol")  # a later joiner is told who set the topic, and when
    joined = inbox(h.engine, h.handle(carol, ev.JoinRoom("dev")), carol)[0]
    assert isinstance(joined, ev.RoomJoined)
    assert (joined.topic, joined.topic_by, joined.topic_at) == ("Release 1.0", "alice", T0)
    chat = h.handle(alice, ev.Chat("in dev", "dev"))[0]
    assert isinstance(chat.notice, ev.ChatMessage) and chat.notice.room == "Dev"
    out = h.handle(bob, ev.LeaveRoom("dev"))
    assert inbox(h.engine, out, bob) == [ev.RoomLeft("Dev")]
    assert isinstance(inbox(h.engine, out, alice)[0], ev.UserLeft)
    assert only_error(h.handle(bob, ev.Chat("x", "dev"))).code == ErrorCode.NOT_IN_ROOM
    assert only_error(h.handle(bob, ev.Chat("x", "nope"))).code == ErrorCode.UNKNOWN_ROOM
    assert only_error(h.handle(bob, ev.LeaveRoom("general"))).code == ErrorCode.INVALID_ROOM
    assert only_error(h.handle(bob, ev.JoinRoom("bad room"))).code == ErrorCode.INVALID_ROOM


def test_the_room_limit_is_checked_before_a_room_is_made():
    h = Harness(max_rooms_per_user=2)
    alice = h.connect("alice")
    h.handle(alice, ev.JoinRoom("one"))
    error = only_error(h.handle(alice, ev.JoinRoom("two")))
    assert error.code == ErrorCode.INVALID_ROOM
    assert "two" not in h.engine.memberships.rooms


def test_joining_a_room_replays_recent_history():
    h = Harness(history_on_join=2)
    alice, bob = h.connect("alice"), h.connect("bob")
    h.handle(alice, ev.JoinRoom("dev"))
    for text in ("one", "two", "three"):
        h.handle(alice, ev.Chat(text, "dev"))
    replay = inbox(h.engine, h.handle(bob, ev.JoinRoom("dev")), bob)[1]
    assert isinstance(replay, Replay) and not replay.reads_store  # streamed by the server
    assert [(m.message, m.history) for m in replay.recent] == [("two", True), ("three", True)]  # type: ignore[union-attr]


def test_join_since_asks_for_exactly_what_was_missed():
    h = Harness()
    alice, bob = h.connect("alice"), h.connect("bob")
    h.handle(alice, ev.JoinRoom("dev"))
    h.handle(alice, ev.Chat("seen"))
    last_seen = h.engine.store.last_id
    h.engine.close_session(alice, "network", T0)
    h.handle(bob, ev.Chat("missed 1"))
    h.handle(bob, ev.JoinRoom("dev"))
    h.handle(bob, ev.Chat("missed 2", "dev"))
    again = h.session()
    command = ev.Join("alice", last_seen, ("dev",))
    assert not h.engine.is_async(command)  # the replay is read and streamed by the server
    got = inbox(h.engine, h.handle(again, command), again)
    assert isinstance(got[0], ev.Welcome) and got[0].rooms == ("general", "dev")
    [replay] = [n for n in got if isinstance(n, Replay)]
    assert replay == Replay(
        rooms=("general", "dev"),
        account=None,  # a guest: no private messages
        since=last_seen,
        upto=h.engine.store.last_id,
        limit=h.engine.limits.replay_limit,
    )
