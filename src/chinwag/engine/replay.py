"""What a session is owed from history when it joins: described here, streamed by the server.

A replay can be big (twenty 64 KB messages in each of a hundred rooms, or the thousands of
messages a reconnecting client missed), so the engine never builds it into replies: it says
what to send, and the server's connection streams it as the client reads (server/stream.py),
holding live traffic for that client until the replay is out.
"""

from __future__ import annotations

from dataclasses import dataclass

from chinwag.protocol.events import StoredNotice


@dataclass(frozen=True, slots=True)
class Replay:
    # Messages from the rooms' recent rings (in memory; some may still wait for their
    # commit), oldest first per room, sent as they are.
    recent: tuple[StoredNotice, ...] = ()
    # Then from the store: the messages of these rooms, and the private messages of this
    # account (None: a guest gets none), with since < id <= upto, at most `limit`.
    rooms: tuple[str, ...] = ()
    account: str | None = None
    since: int = 0
    upto: int = 0
    limit: int = 0
    # With a store shared by several servers (ids at commit), the engine asks instead for
    # the last `tail` messages of each room from the store, and the server sets, per room,
    # the last id the replay covers (what this node had delivered to the room when the
    # session became a member: everything after reaches it live).
    tail: int = 0
    bounds: tuple[tuple[str, int], ...] = ()

    @property
    def reads_store(self) -> bool:
        return (self.limit > 0 and self.upto > self.since) or self.tail > 0
