"""Streaming a replay to one connection as the client reads it.

Server layer. The connection is BUSY meanwhile: its input waits, and live output for it is
held, to go out after the replay, in order (connection.py). Replay bytes are rendered a
chunk at a time (about CHUNK bytes) and each chunk goes out only once the previous one has
left the process and the kernel's buffer for that socket is below LOW_WATER: a client that
reads slowly is sent slowly. So a replay of any size costs the server at most a chunk of
memory per connection, and never trips the output bound that protects everyone from
clients that stop reading (that bound still applies to the live output held meanwhile).

The rooms' recent messages come from memory (some may still wait for their commit: a chunk
waits for its highest id like any other output); the missed messages of a reconnect come
from the store, PAGE rows at a time, read in the store's threads once everything up to the
replay's end is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from chinwag.engine.limits import as_history
from chinwag.engine.replay import Replay
from chinwag.protocol.events import StoredNotice

if TYPE_CHECKING:
    from chinwag.server.connection import Connection

CHUNK = 64 * 1024  # bytes rendered before waiting for the client to read
LOW_WATER = 64 * 1024  # the kernel's buffer for the socket must be below this to go on
PAGE = 200  # messages read from the store at a time


async def stream_replay(conn: Connection, replay: Replay) -> None:
    if not await _send(conn, replay.recent):
        return
    if not replay.reads_store:
        return
    host = conn.host
    if replay.bounds:  # a shared store: ids up to the bounds are committed already
        await _stream_bounded(conn, replay)
        return
    await host.durable(replay.upto)  # reads see committed data only: no gap
    store = host.store
    since, left = replay.since, replay.limit
    while left > 0 and since < replay.upto:
        rows = await store.missed(replay.account, replay.rooms, since, replay.upto, min(PAGE, left))
        if not rows:
            return
        if not await _send(conn, (as_history(m) for m in rows)):
            return
        since, left = rows[-1].id, left - len(rows)


async def _stream_bounded(conn: Connection, replay: Replay) -> None:
    """A replay whose rooms each end at their own bound (server/sequencer.py): a room's
    messages after its bound reach the session live."""
    store = conn.host.store
    bounds = dict(replay.bounds)
    if replay.tail:
        for key, bound in replay.bounds:
            rows = await store.history(key, before=bound + 1, limit=replay.tail)
            if not await _send(conn, (as_history(m) for m in rows), gated=False):
                return
    if replay.limit <= 0:
        return
    since, left = replay.since, replay.limit
    while left > 0 and since < replay.upto:
        rows = await store.missed(replay.account, replay.rooms, since, replay.upto, min(PAGE, left))
        if not rows:
            return
        room_of = _room_key
        kept = [m for m in rows if m.id <= bounds.get(room_of(m), replay.upto)]
        if not await _send(conn, (as_history(m) for m in kept), gated=False):
            return
        since, left = rows[-1].id, left - len(rows)


def _room_key(notice: StoredNotice) -> str:
    """A stored notice's room key ("" for a private message)."""
    room = getattr(notice, "room", None)
    return room.casefold() if isinstance(room, str) else ""


async def _send(conn: Connection, notices: Iterable[StoredNotice], *, gated: bool = True) -> bool:
    """Render and write notices a chunk at a time; False once the connection is closing.
    `gated`: a chunk waits for the commit of its highest id (not for what a shared store
    has committed already: its final ids are not this node's provisional ones)."""
    session = conn.session
    viewer = session.name if session is not None else None
    parts: list[bytes] = []
    size = needs = 0
    for notice in notices:
        data = conn.codec.render(notice, viewer)
        parts.append(data)
        size += len(data)
        if gated:
            needs = max(needs, notice.id)
        if size >= CHUNK:
            conn.write_now(b"".join(parts), needs)
            if not await conn.drained(LOW_WATER):
                return False
            parts, size, needs = [], 0, 0
    if parts:  # the last chunk: what is held goes out behind it, in order, without a wait
        conn.write_now(b"".join(parts), needs)
    return True
