"""`chinwag serve --workers N`: N server processes on the same ports, and their supervisor.

One Python process uses one core. With `workers` > 1 the `chinwag serve` process becomes a
supervisor: it starts N workers, each a whole server (`run.serve`) that binds every port with
SO_REUSEPORT, so the kernel deals new connections among them. They are one chat because they
share the store (PostgreSQL: ids, history, accounts) and the bus (NATS: who hears what); the
config refuses `workers` > 1 without both (config._check_workers).

The supervisor:
- hands each worker its settings as one JSON line on stdin (`config.settings_of`: the
  config already resolved from file, environment and flags, so every worker runs the same;
  the store's password never shows in the process list), and reads "ready" on the worker's
  stdout once it serves every port;
- refuses to go on when a worker exits before it ever served (a port taken, the database
  unreachable): it stops the others and exits 1, and the worker's log said why;
- restarts a worker that dies afterwards, after 0.5 s doubling to 30 s (back to 0.5 s once
  one has lived a minute), so a crash loop does not spin;
- passes SIGTERM and SIGINT on (each worker shuts down gracefully), SIGHUP (certificate
  reload, with TLS on) and SIGUSR1 (accounts changed) to every worker that serves, and exits
  once they all have, killing any still there `shutdown_grace` + 10 s later.

Workers run in a session of their own, so a terminal's Ctrl-C reaches the supervisor alone
(it passes one SIGINT on), and each asks the kernel for SIGTERM when the supervisor dies
(PR_SET_PDEATHSIG), so a `kill -9` of the supervisor leaves no orphan serving.

A worker is `python -m chinwag.server.workers`; its log lines say `worker K:`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from typing import Any

from chinwag.config import ServerConfig, load_config, settings_of
from chinwag.errors import ConfigError

log = logging.getLogger("chinwag.server")

FIRST_DELAY = 0.5  # seconds before a dead worker is started again
MAX_DELAY = 30.0  # the delay doubles per death up to this
HEALTHY = 60.0  # a worker that lived this long starts the next backoff from FIRST_DELAY
STOP_MARGIN = 10.0  # past shutdown_grace, a worker that has not exited is killed
READY = b"ready\n"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def supervise(config: ServerConfig) -> int:
    """Run `config.workers` workers until SIGTERM or SIGINT; the exit status."""
    with asyncio.Runner() as runner:  # the standard loop: its subprocesses take start_new_session
        return runner.run(Supervisor(config).run())


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with status {code}"


class Supervisor:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.count = config.workers
        settings = settings_of(config)
        settings.update(workers=1, reuse_port=True)
        self.settings = settings
        self.serving: dict[int, asyncio.subprocess.Process] = {}  # worker -> its process
        self.starting: dict[int, asyncio.subprocess.Process] = {}
        self.stopping = asyncio.Event()
        self.failed = False  # a worker could not start at all: exit 1
        self.exits: dict[int, int] = {}  # worker -> its last exit status

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.forward, signal.SIGHUP)
        loop.add_signal_handler(signal.SIGUSR1, self.forward, signal.SIGUSR1)
        log.info(
            "Supervisor (pid %d): starting %d workers on %s:%d",
            os.getpid(),
            self.count,
            self.config.host,
            self.config.port,
        )
        keepers = [asyncio.create_task(self._keep(n)) for n in range(1, self.count + 1)]
        await asyncio.gather(*keepers)
        if self.failed:
            log.error("Supervisor: a worker could not start; stopped them all")
            return 1
        log.info("Supervisor: every worker has stopped")
        return 0 if not any(self.exits.values()) else 1

    # ------------------------------------------------------------------ signals

    def stop(self) -> None:
        """SIGTERM or SIGINT: every worker shuts down gracefully; nothing restarts."""
        if self.stopping.is_set():
            return
        log.info("Supervisor: stopping the workers")
        self.stopping.set()
        for proc in [*self.serving.values(), *self.starting.values()]:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)

    def forward(self, sig: signal.Signals) -> None:
        """SIGHUP and SIGUSR1, to the workers that serve (their handlers are in place: a
        worker still starting would take SIGUSR1's default action, and end)."""
        if sig == signal.SIGHUP and self.config.tls_files() is None:
            log.info("Supervisor: SIGHUP, but TLS is off: no certificate to reload")
            return
        for proc in self.serving.values():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    # ------------------------------------------------------------------ one worker

    async def _keep(self, number: int) -> None:
        """Worker `number`, started and started again until the supervisor stops."""
        delay = FIRST_DELAY
        first = True
        while not self.stopping.is_set():
            proc = await self._spawn(number)
            began = time.monotonic()
            served = await self._ready(number, proc)
            if served:
                self.serving[number] = proc
                log.info("Supervisor: worker %d (pid %d) serves", number, proc.pid)
            code = await self._wait(proc)
            self.serving.pop(number, None)
            self.exits[number] = code
            if self.stopping.is_set():
                return
            if first and not served:
                log.error(
                    "Supervisor: worker %d (pid %d) %s before it served", number, proc.pid,
                    _exit_text(code),
                )  # fmt: skip
                self.failed = True
                self.stop()
                return
            first = False
            if time.monotonic() - began > HEALTHY:
                delay = FIRST_DELAY
            log.warning(
                "Supervisor: worker %d (pid %d) %s; starting it again in %.1f s",
                number, proc.pid, _exit_text(code), delay,
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)
            delay = min(MAX_DELAY, delay * 2)

    async def _spawn(self, number: int) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chinwag.server.workers",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C is the supervisor's to pass on
        )
        self.starting[number] = proc
        assert proc.stdin is not None
        order = {"worker": number, "supervisor": os.getpid(), "settings": self.settings}
        with contextlib.suppress(ConnectionError):  # it died at once: _ready sees it
            proc.stdin.write(json.dumps(order).encode() + b"\n")
            await proc.stdin.drain()
        proc.stdin.close()
        if self.stopping.is_set():  # stopped while it was being made
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        return proc

    async def _ready(self, number: int, proc: asyncio.subprocess.Process) -> bool:
        """True once the worker says it serves; False when it exits first."""
        assert proc.stdout is not None
        try:
            line = await proc.stdout.readline()
        finally:
            self.starting.pop(number, None)
        return line == READY

    async def _wait(self, proc: asyncio.subprocess.Process) -> int:
        """The worker's exit status; after a stop, it is killed if it takes too long."""
        waiting = asyncio.ensure_future(proc.wait())
        stopping = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not waiting.done():
            try:
                await asyncio.wait_for(
                    asyncio.shield(waiting), self.config.shutdown_grace + STOP_MARGIN
                )
            except TimeoutError:
                log.error("Supervisor: worker pid %d did not stop; killing it", proc.pid)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        return await waiting


# ---------------------------------------------------------------------- the worker's side


def _die_with(supervisor: int) -> None:
    """Ask for SIGTERM when the supervisor dies (Linux), so no worker outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before we asked
        sys.exit(1)


def worker_main() -> int:
    """A worker: its settings from stdin, "ready" on stdout once it serves, logs on stderr."""
    status = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to the log, not into the supervisor's pipe
    try:
        order: dict[str, Any] = json.loads(sys.stdin.readline() or "{}")
    except ValueError:
        order = {}
    if not isinstance(order, dict) or "settings" not in order:
        print("chinwag.server.workers is started by `chinwag serve --workers N`", file=sys.stderr)
        return 2
    _die_with(int(order["supervisor"]))
    try:
        config = load_config(environ={}, overrides=order["settings"])
    except ConfigError as exc:
        print(f"chinwag: worker: {exc}", file=sys.stderr)
        return 2

    def ready() -> None:
        with contextlib.suppress(OSError):
            status.write(READY)
            status.close()

    from chinwag.server.run import run_server

    return run_server(config, worker=int(order["worker"]), ready=ready)


if __name__ == "__main__":
    sys.exit(worker_main())
