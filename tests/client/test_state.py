"""Per-conversation state every front end shares (client/state.py), fed events by hand."""

from __future__ import annotations

from chinwag.client.state import ChatState, key, mentions
from chinwag.protocol import events as ev


def welcomed(me: str = "alice", last_id: int = 10) -> ChatState:
    state = ChatState()
    state.welcome(
        ev.Welcome(me, "hi", ("alice", "bob", "Client 3"), ("general", "dev"), last_id, 0.0,
                   accounts=("alice", "bob"))
    )  # fmt: skip
    state.view(key("general"))
    return state


def chat(n: int, room: str, who: str, text: str, history: bool = False) -> ev.ChatMessage:
    return ev.ChatMessage(n, room, who, text, 1.0, history=history)


def test_messages_elsewhere_count_as_unread_and_mentions_until_viewed() -> None:
    state = welcomed()
    state.apply(chat(11, "dev", "bob", "deploying"))
    state.apply(chat(12, "dev", "bob", "alice: look"))
    state.apply(chat(13, "general", "bob", "in view"))
    dev = state.conversations[key("dev")]
    assert (dev.unread, dev.mentioned) == (2, 1)
    assert state.conversations[key("general")].unread == 0
    assert state.conversations[key("general")].last_read == 13
    state.view(key("dev"))
    assert (dev.unread, dev.mentioned, dev.last_read) == (0, 0, 12)


def test_join_replays_are_context_but_a_reconnects_replay_was_missed() -> None:
    state = welcomed(last_id=10)
    state.apply(chat(9, "dev", "bob", "old", history=True))
    assert state.conversations[key("dev")].unread == 0
    state.reconnected(since=10)
    state.apply(chat(11, "dev", "bob", "said while we were away", history=True))
    assert state.conversations[key("dev")].unread == 1


def test_private_messages_open_a_conversation_and_always_count_as_a_mention() -> None:
    state = welcomed()
    state.apply(ev.PrivateMessage(11, "bob", "alice", "psst", 1.0))
    state.apply(ev.PrivateMessage(12, "alice", "Bob", "yes?", 1.0))
    bob = state.conversations[key("bob", private=True)]
    assert [m.id for m in bob.messages] == [11, 12]
    assert (bob.unread, bob.mentioned) == (1, 1)
    assert [c.name for c in state.people()] == ["Bob"]


def test_members_with_guests_and_roles_and_their_changes() -> None:
    state = welcomed()
    general = state.conversations[key("general")]
    assert {m.name: m.guest for m in general.members.values()} == {
        "alice": False, "bob": False, "Client 3": True
    }  # fmt: skip
    state.apply(ev.RoomJoined("dev", "builds", ("alice", "bob"), ("alice",), ("alice",), ()))
    dev = state.conversations[key("dev")]
    assert dev.topic == "builds"
    assert [(m.name, m.role, m.guest) for m in dev.sorted_members()] == [
        ("alice", "operator", False), ("bob", "", True)
    ]  # fmt: skip
    state.apply(ev.Moderated(1, "role", "alice", 1.0, room="dev", username="bob", role="voice"))
    state.apply(ev.UserRenamed("bob", "robert", 1.0))
    state.apply(ev.UserJoined("dev", "carol", 1.0))
    assert [(m.name, m.role) for m in dev.sorted_members()] == [
        ("alice", "operator"), ("robert", "voice"), ("carol", "")
    ]  # fmt: skip
    assert state.names() == ["alice", "carol", "Client 3", "robert"]
    state.apply(ev.TopicChanged(14, "dev", "robert", "green", 1.0))
    assert dev.topic == "green"
    state.apply(ev.RoomLeft("dev"))
    assert key("dev") not in state.conversations


def test_own_messages_are_sending_until_echoed() -> None:
    state = welcomed()
    state.send("general", "hello")
    state.send("general", "hello")
    assert len(state.sending) == 2
    state.apply(chat(11, "general", "alice", "hello"))
    assert len(state.sending) == 1
    state.apply(chat(12, "general", "bob", "hello"))  # not ours: not an echo
    assert len(state.sending) == 1


def test_older_pages_go_before_what_is_held_and_an_empty_one_ends_paging() -> None:
    state = welcomed()
    state.apply(chat(20, "general", "bob", "new"))
    general = state.conversations[key("general")]
    assert general.oldest == 20
    page = ev.HistoryPage("general", (chat(5, "general", "bob", "a", True),
                                      chat(6, "general", "bob", "b", True)))  # fmt: skip
    state.older(key("general"), page)
    assert [m.id for m in general.messages] == [5, 6, 20]
    assert general.more_before
    state.older(key("general"), ev.HistoryPage("general", ()))
    assert not general.more_before


def test_mentions_are_whole_words() -> None:
    assert mentions("hey Alice!", "alice")
    assert mentions("@alice look", "alice")
    assert not mentions("alicedoe", "alice")
    assert not mentions("anything", "")
