"""Running the server as a process: logging, the event loop, signals, exit status."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable

from chinwag.config import ServerConfig
from chinwag.errors import ChinwagError

LOG_FORMAT = "%(asctime)s - %(levelname)s - %(message)s"  # as seed 004 shows

log = logging.getLogger("chinwag.server")


def setup_logging(level: str, worker: int | None = None) -> None:
    """Log lines to stderr; a worker's say which worker they come from (`--workers N`)."""
    shown = (
        LOG_FORMAT
        if worker is None
        else LOG_FORMAT.replace("%(message)s", f"worker {worker}: %(message)s")
    )
    logging.basicConfig(level=level, format=shown, stream=sys.stderr, force=True)


async def serve(config: ServerConfig, ready: Callable[[], None] | None = None) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully. SIGUSR1: an admin changed
    accounts (`chinwag user`), read them again. SIGHUP reloads the TLS certificate (a
    renewal without a restart). `ready` is called once every port is served."""
    from chinwag.server.app import ChatServer  # here: a `--workers` supervisor runs none

    server = ChatServer(config)
    loop = asyncio.get_running_loop()
    # Before start(): the data folder's lock file names this process as soon as start()
    # takes it, and SIGUSR1's default action would end the process.
    loop.add_signal_handler(signal.SIGUSR1, server.reload_accounts_soon)
    try:
        await server.start()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if server.tls is not None:
            loop.add_signal_handler(signal.SIGHUP, server.tls.reload)
        if ready is not None:
            ready()
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await server.shutdown()
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        # The lock is released by now; a command line that saw it held a moment ago may
        # still signal: ignored, not fatal, while the process exits.
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed, the standard loop otherwise."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def raise_file_limit() -> None:
    """Let the process open as many files (sockets) as the system allows it."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, OSError, ValueError) as exc:  # pragma: no cover - not POSIX
        log.warning("cannot raise the open-files limit: %s", exc)


def run_server(
    config: ServerConfig, *, worker: int | None = None, ready: Callable[[], None] | None = None
) -> int:
    """`chinwag serve`: one server process, or (`workers` > 1) the supervisor of several.
    `worker` and `ready`: this process is a supervisor's worker (server/workers.py)."""
    setup_logging(config.log_level, worker)
    if config.workers > 1:
        from chinwag.server.workers import supervise

        return supervise(config)
    raise_file_limit()
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(serve(config, ready))
    except (ChinwagError, OSError) as exc:
        log.error("cannot run the server: %s", exc)
        return 1
    return 0
