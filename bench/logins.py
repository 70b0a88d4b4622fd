"""A login burst during scenario B: `python -m bench.logins [--rounds N] [--logins 50]`.

Passwords are hashed with argon2id at the server's real (default) cost, about 0.1 s of CPU
and 64 MiB each, in the server's hashing threads. This runs scenario B (1,000 clients, 5 of
them chatting 20 messages a second each, for 10 s) with and without `--logins` accounts
logging in at once a third of the way in, and with as many guests joining at once instead
(the same welcomes and presence, no password to check: what the hashing itself costs is
the difference), rounds alternating; it prints the chat's delivery latency (p50, p99:
every delivery of the 10 s) beside the joins' own time to their welcome. The accounts are
registered before the clients connect.

    .venv/bin/python -m bench.logins --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson

from bench.load import run_load
from bench.scenarios import load_specs
from bench.server import HOST

PASSWORD = "bench password 1234"


async def _ask(port: int, command: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Send one command on a new connection; (seconds to the answer, the answer)."""
    reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 24)
    began = time.perf_counter()
    writer.write(orjson.dumps(command) + b"\n")
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 60)
            if not line:
                raise ConnectionError("closed before an answer")
            answer = orjson.loads(line)
            if answer.get("type") in ("welcome", "error"):
                return time.perf_counter() - began, answer
    finally:
        writer.close()


class LoginBurst:
    """`count` logins at once; with `guests`, as many guest joins instead (the same
    welcomes and presence for everyone, without a password to check)."""

    def __init__(self, count: int, *, guests: bool = False) -> None:
        self.names = [f"acct{number}" for number in range(count)]
        self.guests = guests

    def prepare(self, port: int) -> None:
        if self.guests:
            return

        async def register_all() -> None:
            for name in self.names:
                command = {"type": "register", "username": name, "password": PASSWORD}
                _, answer = await _ask(port, command)
                if answer.get("type") != "welcome":
                    raise RuntimeError(f"could not register {name}: {answer}")

        asyncio.run(register_all())

    def during(self, port: int) -> dict[str, Any]:
        def join(name: str) -> dict[str, Any]:
            if self.guests:
                return {"type": "join", "username": f"guest_{name}"}
            return {"type": "join", "username": name, "password": PASSWORD}

        async def burst() -> list[tuple[float, dict[str, Any]]]:
            return await asyncio.gather(*(_ask(port, join(name)) for name in self.names))

        answers = asyncio.run(burst())
        seconds = sorted(took for took, _ in answers)
        failed = sum(1 for _, answer in answers if answer.get("type") != "welcome")
        return {
            "logins": len(answers),
            "logins_failed": failed,
            "login_median_s": round(statistics.median(seconds), 3),
            "login_max_s": round(seconds[-1], 3),
        }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.logins", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--logins", type=int, default=50)
    p.add_argument("--quick", action="store_true", help="scenario B's small form")
    args = p.parse_args(argv)
    spec = load_specs(args.quick)["B"]
    runs: dict[str, list[dict[str, Any]]] = {"no": [], "guest": [], "password": []}
    for _ in range(args.rounds):
        for kind in runs:
            side = None if kind == "no" else LoginBurst(args.logins, guests=kind == "guest")
            report = run_load(spec, side=side)
            report["burst"] = kind
            print(json.dumps(report), flush=True)
            runs[kind].append(report)
    keys = ("p50_ms", "p99_ms", "loss", "server_cpu_pct")
    extra = ("login_median_s", "login_max_s", "logins_failed")
    print()
    print("| B | " + " | ".join(keys + extra) + " |")
    print("|---" * (1 + len(keys) + len(extra)) + "|")
    for kind, reports in runs.items():
        cells = []
        for key in keys + extra:
            values = [r[key] for r in reports if r.get(key) is not None]
            cells.append(f"{statistics.median(values):g}" if values else "")
        print(f"| {kind} joins | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
