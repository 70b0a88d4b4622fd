"""The command table: one row per command (schema = its event class, permission, handler)
and the membership facts every change announces before it happens."""

from chinwag.engine.engine import Row
from chinwag.engine.facts import Joined, Left, Renamed, SignedIn, SignedOut
from chinwag.engine.identity import Identity, Role
from chinwag.engine.names import user_key
from chinwag.engine.permissions import Permission
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from tests.engine.support import T0, Harness, only_error


def test_every_command_type_has_a_row():
    h = Harness()
    commands = ev.Command.__args__
    assert set(h.engine.table) == set(commands)


def test_the_permission_column_is_checked_once_for_every_command():
    h = Harness()
    guest = h.connect("gus")
    member = h.session()
    h.engine.admit(member, Identity("mia", user_key("mia"), "mia", Role.MEMBER), (), T0)
    admin = h.session()
    h.engine.admit(admin, Identity("ada", user_key("ada"), "ada", Role.ADMIN), (), T0)
    table = h.engine.table
    for permission, allowed in [
        (Permission.MEMBER, {"mia", "ada"}),
        (Permission.ROOM_OPERATOR, {"ada"}),
        (Permission.MODERATOR, {"ada"}),
        (Permission.ADMIN, {"ada"}),
    ]:
        table[ev.ListRooms] = Row(permission, h.engine._list_rooms)
        for session in (guest, member, admin):
            [envelope] = h.handle(session, ev.ListRooms())
            if session.name in allowed:
                assert isinstance(envelope.notice, ev.RoomList), (permission, session)
            else:
                assert isinstance(envelope.notice, ev.Error), (permission, session)
                assert envelope.notice.code == ErrorCode.FORBIDDEN
        stranger = h.session()
        assert only_error(h.handle(stranger, ev.ListRooms())).code == ErrorCode.NOT_JOINED


def test_facts_come_before_each_change_whoever_makes_it():
    h = Harness()
    alice, bob = h.connect("alice"), h.connect("bob")
    h.handle(alice, ev.JoinRoom("dev"))
    h.handle(bob, ev.JoinRoom("dev"))
    h.handle(bob, ev.Rename("robert"))
    room = h.engine.memberships.rooms["dev"]
    # a moderator's removal (a later issue's kick) goes through the same door
    h.engine.memberships.leave(bob, room, by=alice.identity)
    h.engine.close_session(alice, "gone", T0)
    kinds = [(type(f).__name__, f.room.key if isinstance(f, Joined | Left) else None, m)
             for f, m in h.facts.seen]  # fmt: skip
    assert kinds == [
        ("SignedIn", None, False),
        ("Joined", "general", False),  # told before: not a member yet
        ("SignedIn", None, False),
        ("Joined", "general", False),
        ("Joined", "dev", False),
        ("Joined", "dev", False),
        ("Renamed", None, False),
        ("Left", "dev", True),  # told before: still a member
        ("Left", "general", True),
        ("Left", "dev", True),
        ("SignedOut", None, False),
    ]
    left = next(f for f, _ in h.facts.seen if isinstance(f, Left))
    assert left.by is alice.identity
    renamed = next(f for f, _ in h.facts.seen if isinstance(f, Renamed))
    assert (renamed.old.name, renamed.new.name) == ("bob", "robert")
    assert isinstance(h.facts.seen[0][0], SignedIn) and isinstance(h.facts.seen[-1][0], SignedOut)
    assert isinstance(h.facts.seen[1][0], Joined)
