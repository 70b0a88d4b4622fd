"""Graceful shutdown, in order, so that no client gets a reset or misses a stored echo.

Server layer.
1. Stop accepting connections.
2. Stop handling input (`Connection.shut`), but keep reading it: a socket closed while the
   kernel holds unread input answers with a reset, which also throws away what the client
   had not read yet (its last echoes, the goodbye).
3. Queue a goodbye behind everything each client is owed, commit what the engine wrote
   (so the echoes of stored messages may go out), and write.
4. Each connection half-closes once its last byte is written (FIN) and reads until the
   client closes its side; one that has been silent since shortly before the shutdown, or
   for DRAIN_QUIET, is closed then.
5. Whatever is still open after `shutdown_grace` is dropped; then the tasks stop and the
   store closes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from chinwag.errors import StoreError
from chinwag.protocol.events import Goodbye

if TYPE_CHECKING:
    from chinwag.server.app import ChatServer

log = logging.getLogger("chinwag.server")

# Seconds a half-closed client must be silent before our side closes; one silent since
# IDLE_BEFORE seconds before the shutdown began is closed at once. A client still writing
# when we close gets a reset: on a loaded 2-core machine a talking client's process can go
# unscheduled for longer than the 0.2 s this used to be.
DRAIN_QUIET = 0.5
IDLE_BEFORE = 0.1
DRAIN_STEP = 0.02


async def shut_down(server: ChatServer, reason: str) -> None:
    log.info("Shutting down: %s", reason)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + server.config.shutdown_grace
    for listener in server.listeners:
        listener.close()
    server.fanout.end_run()
    connections = list(server.connections)
    idle_before = loop.time() - IDLE_BEFORE
    for conn in connections:
        conn.shut()
    goodbye = Goodbye(reason)
    for conn in connections:
        session = conn.session
        conn.queue(conn.codec.render(goodbye, session.name if session else None), 0)
    server.outbox.flush()
    try:  # every echo queued depends on a commit: let it happen
        await asyncio.wait_for(
            server.outbox.durable(server.store.last_id), max(0.0, deadline - loop.time())
        )
    except TimeoutError:
        log.error("The store did not commit in time: the last messages were not echoed")
    server.outbox.flush()
    while server.connections and loop.time() < deadline:
        now = loop.time()
        for conn in list(server.connections):
            # Half-closed, and silent: what it sent was read, so closing leaves nothing
            # unread for a reset. Silent means since a little before the shutdown began
            # (a client talking every few milliseconds may not have spoken since, and its
            # next line would meet a closed socket), or for DRAIN_QUIET.
            if conn.last_seen <= idle_before or now - conn.last_seen >= DRAIN_QUIET:
                conn.finish()
        if server.connections:
            await asyncio.sleep(DRAIN_STEP)
    for conn in list(server.connections):
        conn.abort("shutdown grace period over")
    server.outbox.stopping = True
    tasks = list(server.tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for listener in server.listeners:
        await listener.wait_closed()
    server.fanout.stop()
    server.nodes.stop(goodbye=True)  # the other nodes drop this one at once
    await server.bus.close()
    try:
        await server.store.close()
    except StoreError as exc:  # a sick store: what it could not store was never echoed
        log.error("Could not store what was pending at shutdown: %s", exc)
    server.passwords.close()
    if server.files is not None:
        server.files.store.close()  # a temporary folder (--data :memory:) goes
    log.info("Server stopped")
