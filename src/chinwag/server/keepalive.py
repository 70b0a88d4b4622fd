"""Keep-alive: ping silent clients, drop dead ones, idle ones and those that never joined.

Server layer. Every dialect also gets TCP keep-alive from the kernel (listeners.py), which
finds half-open peers; this sweep adds what only the server can judge:
- a connection that has not joined within `join_timeout` is closed;
- a client that has answered a ping once (it can: native clients do) and is then silent for
  `keepalive_timeout` is dropped;
- any other joined connection (the seed dialects, a client that ignores pings) silent for
  `idle_timeout` is closed with a goodbye that says why: nothing holds a connection and a
  name for ever without a word.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from chinwag.config import ServerConfig
from chinwag.engine.limits import wall_clock
from chinwag.protocol.events import Goodbye, KeepAlive
from chinwag.server.connection import Connection


class KeepAliveSweep:
    def __init__(
        self,
        connections: Collection[Connection],
        config: ServerConfig,
        loop: asyncio.AbstractEventLoop,
        *,
        settle: Callable[[], None],
    ) -> None:
        self.connections = connections
        self.config = config
        self.loop = loop
        self._settle = settle  # the fan-out's pending run goes first, in order

    async def run(self) -> None:
        cfg = self.config
        period = max(0.05, min(cfg.keepalive_interval, cfg.join_timeout, cfg.idle_timeout) / 4)
        while True:
            await asyncio.sleep(period)
            self.sweep()

    def sweep(self) -> None:
        self._settle()
        now = self.loop.time()
        cfg = self.config
        stamp = wall_clock()
        for conn in list(self.connections):
            silent = now - conn.last_seen
            session = conn.session
            joined = session is not None and session.joined
            if not joined:
                if now - conn.opened > cfg.join_timeout:
                    conn.queue(conn.codec.render(Goodbye("Join timeout"), None), 0)
                    conn.close("did not join in time")
            elif conn.answers_pings and silent > cfg.keepalive_timeout:
                conn.abort(f"no reply to keep-alive in {cfg.keepalive_timeout:g} s")
            elif silent > cfg.idle_timeout:
                assert session is not None
                idle = Goodbye(f"Closed after {cfg.idle_timeout:g} s without a word")
                conn.queue(conn.codec.render(idle, session.name), 0)
                conn.close(f"silent for {cfg.idle_timeout:g} s")
            elif silent > cfg.keepalive_interval and not conn.pinged:
                conn.pinged = True
                assert session is not None
                ping = conn.codec.render(KeepAlive(stamp), session.name)
                if ping:  # dialects without a ping render nothing
                    conn.queue(ping, 0)
