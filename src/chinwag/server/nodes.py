"""Shared presence: every node tells the others who is signed in on it, over the bus.

Server layer. The engine stays synchronous and I/O-free: it reads a replica of the other
nodes' users (engine/replica.py); this module keeps that replica up to date and tells the
other nodes what changes here.

- **Changes** come from the engine's membership facts (engine/facts.py: sign in, rename,
  enter, leave, sign out), heard beside the fan-out. They are batched per turn of the event
  loop and published on the bus's presence channel with this node's next sequence number.
- **Heartbeats** every `beat` seconds carry the node id and its latest sequence number.
- A node that hears a **gap** in another node's numbers, or a node it does not know, asks
  that node for a **snapshot** (its whole state and the number it stands at) and applies
  the changes held meanwhile that come after it.
- A node silent for `dead_after` seconds is **dead**: its users leave the replica, and this
  node's members of their rooms are told `user_left` with the reason "Node lost" (each node
  tells its own, so nobody hears it twice). A node that shuts down says goodbye instead.
- **Races for a name**: two nodes may admit the same key (`user_key`) before either has
  heard of the other. Each node, hearing of a remote holder of a key one of its sessions
  holds, decides the same way: an account beats a guest; of two sessions of one account
  the newer login wins (the one-session rule); of two guests the one that took the name
  first wins; ties go by node id. "Newer" and "first" compare Lamport stamps (`clock`),
  not wall clocks, which differ between machines: a login made after its node heard of
  the other session is always the newer. A local loser is signed out (`Engine.displaced`); a
  remote loser is its own node's to sign out.
- **Directives**: a kick or ban of a user signed in elsewhere, and every new or lifted
  ban or mute, go out on the same channel (`Replica.send`); the target's node removes
  the user (`Engine.directed`) as if the command had run there; every node keeps the
  sanction.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from chinwag.bus.base import Bus, Envelope
from chinwag.engine.engine import Engine
from chinwag.engine.facts import Fact, Joined, Left, Renamed, SignedIn, SignedOut
from chinwag.engine.identity import Identity, Role
from chinwag.engine.limits import wall_clock
from chinwag.engine.replica import Directive, RemoteUser
from chinwag.engine.room import Room
from chinwag.engine.session import Session
from chinwag.protocol.events import Moderated, UserJoined, UserLeft
from chinwag.protocol.native import encode_notice
from chinwag.protocol.native_client import decode_notice
from chinwag.storage.base import Sanction

log = logging.getLogger("chinwag.server")

BEAT = 2.0  # seconds between heartbeats
DEAD_AFTER = 6.0  # a node not heard for this long is gone (found within DEAD_AFTER + BEAT)
MAX_BATCH = 1000  # changes in one record (a burst of joins is several records)
MAX_HELD = 1000  # records held while a snapshot is awaited; more, and they are dropped
NODE_LOST = "Node lost"  # the reason of the user_left told when a node dies
NODE_LEFT = "Server shutting down"  # ... when it said goodbye with users still listed
MAX_LOST = 1000  # dead nodes remembered (ids are new at every start)
MAX_SNAPSHOT = 256 << 20  # bytes of a node's state, uncompressed (about 2 million users)


class Peer:
    """What this node knows of another one: where its numbers stand, when it was heard."""

    __slots__ = ("asking", "heard", "held", "seq")

    def __init__(self, heard: float) -> None:
        self.seq: int | None = None  # None: no snapshot yet
        self.heard = heard
        self.asking = False
        self.held: list[tuple[int, list[Any]]] = []  # changes that came before their snapshot


def _digest(value: object) -> bytes:
    """A resume digest from a record (hex), or none if it is not one."""
    if isinstance(value, str) and len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    return b""


class NodePresence:
    def __init__(
        self,
        engine: Engine,
        bus: Bus,
        loop: asyncio.AbstractEventLoop,
        *,
        publish: Callable[[list[Envelope]], None],
        deliver_here: Callable[[Envelope], None],
        node: str | None = None,
    ) -> None:
        self.node = node or uuid.uuid4().hex[:16]
        self.engine = engine
        self.replica = engine.replica
        self.bus = bus
        self.loop = loop
        self.publish = publish  # envelopes, through the bus
        self.deliver_here = deliver_here  # an envelope to this node's members only
        self.beat = BEAT
        self.dead_after = DEAD_AFTER
        self.seq = 0
        self.changes: list[list[Any]] = []
        self._flush_due = False
        # Lamport clock of sign-ins: a stamp above every stamp this node has seen, so a
        # login made knowing of another session is later than it whatever the wall clocks
        # of the machines say. Local user key -> the stamp of when it took that name.
        self.clock = 0
        self.stamps: dict[str, int] = {}
        self.peers: dict[str, Peer] = {}
        # Nodes found dead: one heard again (a partition healed, a stalled process) gets
        # its users back, and the members here are told they joined again.
        self.lost: dict[str, None] = {}
        self._deaf = False  # the bus was away from its broker at the last heartbeat
        self._checked = loop.time()  # the last look for dead nodes
        self._task: asyncio.Task[None] | None = None
        self._asks: set[asyncio.Task[None]] = set()
        self.replica.send = self._direct
        bus.attach_presence(self.node, self.receive, self.snapshot)

    # ------------------------------------------------------------------ this node's changes

    def before(self, fact: Fact) -> None:
        """A membership fact (engine/facts.py): becomes a change for the other nodes."""
        if getattr(self.bus, "alone", False):
            # The in-process bus of a single node: nobody to tell (a node that comes later
            # asks for a snapshot) and nobody to race, so nothing is kept (a user's stamp
            # is then 0: it had its name before any other node could claim it).
            return
        kind = type(fact)
        if kind is Joined or kind is Left:
            identity = fact.session.identity
            if identity is None:
                return
            room = fact.room  # type: ignore[union-attr]
            if kind is Joined:
                change = ["enter", identity.key, room.key, room.name]
            else:
                change = ["leave", identity.key, room.key]
        elif kind is SignedIn:
            identity = fact.identity  # type: ignore[union-attr]
            change = ["in", *self._user(identity, fact.session.resume)]
        elif kind is Renamed:
            old, new = fact.old, fact.new  # type: ignore[union-attr]
            self.stamps.pop(old.key, None)
            change = ["rename", old.key, *self._user(new, fact.session.resume)]
        elif kind is SignedOut:
            identity = fact.session.identity
            if identity is None:
                return
            self.stamps.pop(identity.key, None)
            change = ["out", identity.key]
        else:
            return
        self.changes.append(change)
        if not self._flush_due:
            self._flush_due = True
            self.loop.call_soon(self.flush)

    def _user(self, identity: Identity, resume: bytes) -> list[Any]:
        self.clock += 1
        stamp = self.stamps[identity.key] = self.clock
        user = [identity.key, identity.name, identity.account, identity.role.value, stamp]
        return [*user, resume.hex()]

    def flush(self) -> None:
        """Publish the changes of this turn of the loop, numbered."""
        self._flush_due = False
        changes = self.changes
        if not changes:
            return
        self.changes = []
        for start in range(0, len(changes), MAX_BATCH):
            self.seq += 1
            self._send(
                {"kind": "changes", "seq": self.seq, "changes": changes[start : start + MAX_BATCH]}
            )

    def _send(self, record: dict[str, Any]) -> None:
        record["node"] = self.node
        self.bus.publish_presence(orjson.dumps(record))

    def snapshot(self) -> bytes:
        """This node's whole state and the number it stands at (asked by another node)."""
        self.flush()
        memberships = self.engine.memberships
        users = []
        for session in memberships.online.values():
            identity = session.identity
            if identity is None:
                continue
            rooms = [[key, memberships.rooms[key].name] for key in session.rooms]
            stamp = self.stamps.get(identity.key, 0)
            users.append(
                [identity.key, identity.name, identity.account, identity.role.value, stamp, rooms,
                 session.resume.hex()]
            )  # fmt: skip
        record = {"kind": "snapshot", "node": self.node, "seq": self.seq, "users": users}
        # Compressed: names and rooms repeat, and a NATS message holds 1 MiB by default
        # (some 8,000 users as JSON, ten times more compressed).
        return zlib.compress(orjson.dumps(record), 1)

    def _direct(self, directive: Directive) -> None:
        """The engine's directive (a kick or ban elsewhere, a sanction to keep): to all."""
        record: dict[str, Any] = {"kind": "direct", "to": directive.node, "key": directive.key}
        if directive.notice is not None:
            record["notice"] = encode_notice(directive.notice).decode()
        sanction = directive.sanction
        if sanction is not None:
            s = sanction
            record["sanction"] = [s.kind, s.room_key, s.subject, s.until, s.reason, s.by, s.name]
            record["lifted"] = directive.lifted
        self._send(record)

    # ------------------------------------------------------------------ heartbeats

    async def run(self) -> None:
        """Heartbeats, and the search for nodes gone silent, until cancelled."""
        while True:
            try:
                self.flush()
                self._send({"kind": "beat", "seq": self.seq})
                self._find_dead()
            except Exception:  # a bug: logged, and the heartbeats go on (or we look dead)
                log.exception("Presence heartbeat failed")
            await asyncio.sleep(self.beat)

    def _find_dead(self) -> None:
        now = self.loop.time()
        stalled = now - self._checked > self.dead_after / 2
        self._checked = now
        if not getattr(self.bus, "connected", True):
            self._deaf = True  # hearing nobody says nothing about the others
            return
        if self._deaf or stalled:
            # Back from the broker being away, or from a stall of this process (the others'
            # heartbeats wait unread in the loop): a fresh start for everyone before judging.
            self._deaf = False
            for peer in self.peers.values():
                peer.heard = now
            return
        for node, peer in list(self.peers.items()):
            if now - peer.heard > self.dead_after:
                silent = now - peer.heard
                log.warning("Node %s silent for %.0f s: its users are gone", node, silent)
                self._lost(node, NODE_LOST)

    def start(self) -> None:
        if self._task is None:
            self._checked = self.loop.time()
            self._task = self.loop.create_task(self.run(), name="presence heartbeats")

    def stop(self, *, goodbye: bool = True) -> None:
        """No more heartbeats; with `goodbye`, the others drop this node at once (otherwise
        they find it silent: what a crash looks like, which tests use)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        for ask in self._asks:
            ask.cancel()
        if goodbye:
            self.flush()
            self._send({"kind": "bye"})
        self.bus.detach_presence()

    # ------------------------------------------------------------------ other nodes

    def receive(self, data: bytes) -> None:
        """A record from another node (the bus calls this on the loop, between handlers)."""
        try:
            record = orjson.loads(data)
            node = record["node"]
            kind = record["kind"]
            if not isinstance(node, str) or node == self.node:
                return
            if kind == "direct":
                self._directed(record)
                return
            if kind == "bye":
                self._lost(node, NODE_LEFT)
                return
            peer = self.peers.get(node)
            if peer is None:
                peer = self.peers[node] = Peer(self.loop.time())
                log.info("Node %s is sharing presence", node)
            peer.heard = self.loop.time()
            seq = record["seq"]
            if kind == "beat":
                if peer.seq is None or seq > peer.seq:
                    self._ask(node, peer)
            elif kind == "changes":
                self._changes(node, peer, seq, record["changes"])
        except Exception:  # a bug or another version: logged, and this record skipped
            log.exception("Unreadable presence record %r", data[:200])

    def _changes(self, node: str, peer: Peer, seq: int, changes: list[Any]) -> None:
        if peer.seq is not None and not peer.asking:
            if seq <= peer.seq:
                return  # in the snapshot already
            if seq == peer.seq + 1:
                peer.seq = seq
                self._apply(node, changes)
                return
        if len(peer.held) < MAX_HELD:
            peer.held.append((seq, changes))
        self._ask(node, peer)

    def _ask(self, node: str, peer: Peer) -> None:
        if peer.asking:
            return
        peer.asking = True
        task = self.loop.create_task(self._fetch(node, peer), name=f"presence of {node}")
        self._asks.add(task)
        task.add_done_callback(self._asks.discard)

    async def _fetch(self, node: str, peer: Peer) -> None:
        try:
            data = await self.bus.ask_presence(node)
        finally:
            peer.asking = False
        if data is None or self.peers.get(node) is not peer:
            return  # asked again at its next heartbeat, unless it is gone
        try:
            inflate = zlib.decompressobj()
            record = orjson.loads(inflate.decompress(data, MAX_SNAPSHOT))
            if inflate.unconsumed_tail:
                raise ValueError(f"a snapshot of more than {MAX_SNAPSHOT} bytes")
            users = []
            for user in record["users"]:
                key, name, account, role, stamp, rooms = user[:6]
                resume = _digest(user[6] if len(user) > 6 else "")
                users.append(
                    self._remote(node, key, name, account, role, stamp, dict(rooms), resume)
                )
            seq = record["seq"]
        except Exception:
            log.exception("Unreadable presence snapshot from node %s", node)
            return
        if peer.seq is not None and seq < peer.seq:
            return  # older than what was applied since (a slow answer)
        self.replica.replace_node(node, users)
        if node in self.lost:
            del self.lost[node]
            self._back(users)
        peer.seq = seq
        held, peer.held = sorted(peer.held, key=lambda item: item[0]), []
        for number, changes in held:
            if number <= peer.seq:
                continue
            if number != peer.seq + 1:  # still a gap: ask again
                peer.held = [item for item in held if item[0] > peer.seq]
                self._ask(node, peer)
                break
            peer.seq = number
            self._apply(node, changes)
        self._clashes(node, [user.key for user in users])

    def _remote(
        self,
        node: str,
        key: str,
        name: str,
        account: str | None,
        role: str,
        stamp: int,
        rooms: dict[str, str] | None = None,
        resume: bytes = b"",
    ) -> RemoteUser:
        if account is not None:  # an account made on another node since this one started
            self.engine.registered.add(account)
        stamp = int(stamp)
        if stamp > self.clock:
            self.clock = stamp
        return RemoteUser(node, key, name, account, Role(role), stamp, rooms or {}, resume)

    def _changed_user(self, node: str, user: list[Any]) -> RemoteUser:
        """A user of an `in` or `rename` change: key, name, account, role, stamp, and the
        resume digest (left out by a node of an older version: none)."""
        key, name, account, role, stamp = user[:5]
        resume = _digest(user[5] if len(user) > 5 else "")
        return self._remote(node, key, name, account, role, stamp, None, resume)

    def _apply(self, node: str, changes: Iterable[list[Any]]) -> None:
        replica = self.replica
        claimed = []
        for change in changes:
            op = change[0]
            if op == "enter":
                replica.enter(node, change[1], change[2], change[3])
            elif op == "leave":
                replica.leave(node, change[1], change[2])
            elif op == "in":
                replica.add(self._changed_user(node, change[1:7]))
                claimed.append(change[1])
            elif op == "rename":
                replica.rename(node, change[1], self._changed_user(node, change[2:8]))
                claimed.append(change[2])
            elif op == "out":
                replica.remove(node, change[1])
        self._clashes(node, claimed)

    def _clashes(self, node: str, keys: Iterable[str]) -> None:
        """Sessions here that hold a key the node just claimed, and lose it (see above)."""
        online = self.engine.memberships.online
        theirs = self.replica.nodes.get(node, {})
        for key in keys:
            session = online.get(key)
            remote = theirs.get(key)
            if session is None or remote is None or session.identity is None:
                continue
            if self._remote_wins(session, session.identity, remote):
                self.publish(self.engine.displaced(session, remote, wall_clock()))

    def _remote_wins(self, session: Session, local: Identity, remote: RemoteUser) -> bool:
        if (local.account is None) != (remote.account is None):
            return remote.account is not None  # an account proves the name
        mine = (self.stamps.get(local.key, 0), self.node)
        other = (remote.stamp, remote.node)
        if local.account is not None:
            return other > mine  # one session per account: the newer login
        if session.resume and hmac.compare_digest(remote.resume, session.resume):
            return other > mine  # the same guest, resumed there (its resume secret)
        return other < mine  # a guest name: whoever took it first

    def _lost(self, node: str, reason: str) -> None:
        """A node is gone: its users leave, and this node's members of their rooms hear it."""
        self.peers.pop(node, None)
        if reason == NODE_LOST:
            self.lost[node] = None
            while len(self.lost) > MAX_LOST:
                del self.lost[next(iter(self.lost))]
        users = self.replica.drop_node(node)
        if not users:
            return
        now = wall_clock()
        for user, room in self._told_here(users):
            self.deliver_here(Envelope(room.audience, UserLeft(room.name, user.name, now, reason)))
        log.info("Node %s: %d users gone (%s)", node, len(users), reason)

    def _back(self, users: list[RemoteUser]) -> None:
        """A node found dead is heard again: the members here see its users join again."""
        now = wall_clock()
        for user, room in self._told_here(users):
            self.deliver_here(Envelope(room.audience, UserJoined(room.name, user.name, now)))
        log.warning("A node found dead is back, with %d users", len(users))

    def _told_here(self, users: list[RemoteUser]) -> Iterator[tuple[RemoteUser, Room]]:
        """Each user's rooms that have members here, unless its name is in the room anyway
        (held here, a login moved it; or on a third node)."""
        memberships = self.engine.memberships
        for user in users:
            if user.key in memberships.online:
                continue
            other = self.replica.users.get(user.key)
            still = {} if other is None or other is user else other.rooms
            for key in user.rooms:
                room = memberships.rooms.get(key)
                if room is not None and room.members and key not in still:
                    yield user, room

    def _directed(self, record: dict[str, Any]) -> None:
        notice = None
        if "notice" in record:
            decoded = decode_notice(record["notice"].encode())
            if isinstance(decoded, Moderated):
                notice = decoded
        sanction = None
        if "sanction" in record:
            kind, room_key, subject, until, reason, by, name = record["sanction"]
            sanction = Sanction(kind, room_key, subject, until, reason, by, name)
        directive = Directive(
            record["to"], record["key"], notice, sanction, bool(record.get("lifted"))
        )
        here = directive.node == self.node
        self.publish(self.engine.directed(directive, here, wall_clock()))
