"""The replica of the other nodes' users (engine/replica.py): a plain data object."""

from __future__ import annotations

from chinwag.engine.identity import Role
from chinwag.engine.replica import RemoteUser, Replica


def user(node: str, key: str, *rooms: str, account: str | None = None) -> RemoteUser:
    role = Role.MEMBER if account else Role.GUEST
    return RemoteUser(node, key, key.title(), account, role, 1, {r: r for r in rooms})


def test_users_and_rooms_are_indexed_and_leave_with_their_node():
    replica = Replica()
    replica.add(user("n1", "alice", "general", "dev"))
    replica.add(user("n2", "bob", "general"))
    assert set(replica.users) == {"alice", "bob"}
    assert {u.key for u in replica.members("dev")} == {"alice"}
    assert replica.room_name("dev") == "dev" and replica.room_name("nowhere") is None
    replica.leave("n1", "alice", "dev")
    assert list(replica.members("dev")) == [] and "dev" not in replica.rooms
    replica.enter("n2", "bob", "ops", "Ops")
    assert replica.room_name("ops") == "Ops"
    gone = replica.drop_node("n2")
    assert [u.key for u in gone] == ["bob"] and gone[0].rooms == {
        "general": "general",
        "ops": "Ops",
    }
    assert set(replica.users) == {"alice"} and "ops" not in replica.rooms
    assert "n2" not in replica.nodes


def test_a_rename_keeps_the_rooms_and_a_sign_out_the_other_holder_of_a_key():
    replica = Replica()
    replica.add(user("n1", "carol", "general", "dev"))
    replica.rename("n1", "carol", user("n1", "caz"))
    assert set(replica.users) == {"caz"}
    assert {u.key for u in replica.members("dev")} == {"caz"}
    # The same key on two nodes (a race): one stays indexed while the other signs out.
    replica.add(user("n2", "caz", "general"))
    assert replica.remove("n1", "caz") is not None
    assert replica.users["caz"].node == "n2"
    assert {u.node for u in replica.members("general")} == {"n2"}
    assert replica.remove("n1", "caz") is None


def test_a_snapshot_replaces_what_was_known_of_its_node_only():
    replica = Replica()
    replica.add(user("n1", "alice", "general"))
    replica.add(user("n2", "bob", "general"))
    replica.replace_node("n1", [user("n1", "dave", "general", account="dave")])
    assert set(replica.users) == {"bob", "dave"}
    assert {u.key for u in replica.members("general")} == {"bob", "dave"}
    assert replica.users["dave"].identity().account == "dave"
