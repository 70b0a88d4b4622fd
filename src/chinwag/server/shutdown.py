"""Graceful shutdown, in order: stop accepting, tell everyone, write what is stored, close.

Server layer. Every client gets a goodbye after everything it was owed (stored echoes
included: the goodbye is queued behind them and written after the last commit); clients
that do not let us finish within `shutdown_grace` are dropped.
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


async def shut_down(server: ChatServer, reason: str) -> None:
    log.info("Shutting down: %s", reason)
    for listener in server.listeners:
        listener.close()
    server.fanout.end_run()
    goodbye = Goodbye(reason)
    for conn in list(server.connections):
        session = conn.session
        conn.queue(conn.codec.render(goodbye, session.name if session else None), 0)
        conn.close("server shutdown")
    server.outbox.flush()
    if server.connections:
        server.drained.clear()
        try:
            await asyncio.wait_for(server.drained.wait(), server.config.shutdown_grace)
        except TimeoutError:
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
    await server.bus.close()
    try:
        await server.store.close()
    except StoreError as exc:  # a sick store: what it could not store was never echoed
        log.error("Could not store what was pending at shutdown: %s", exc)
    log.info("Server stopped")
