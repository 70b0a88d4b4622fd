"""Before and after in one sitting: `python -m bench.compare --before DIR [--rounds N]`.

DIR is the `src` folder of another checkout of chinwag (for example a `git worktree` of the
commit before a change). Rounds alternate (before, after, before, after...) so that what
else the machine is doing weighs on both alike; each round is one `python -m bench` run of
the scenarios. Prints the median of each figure and the ratio after / before.

    git worktree add /tmp/chinwag-before HEAD~3
    .venv/bin/python -m bench.compare --before /tmp/chinwag-before/src --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FIGURES: dict[str, tuple[str, ...]] = {
    "A": ("server_cpu_s_per_m", "deliveries_per_s"),
    "A20": ("p99_ms", "p50_ms"),
    "B": ("p99_ms", "p50_ms", "server_cpu_pct", "loss"),
    "C": ("rss_per_conn_kb", "connect_s"),
    "C1": ("server_join_cpu_s", "rss_per_conn_kb"),
    "IB": ("server_cpu_s_per_m", "server_cpu_pct", "p99_ms", "p50_ms", "loss"),
}
ROOT = Path(__file__).resolve().parent.parent


def one_round(scenarios: str, src: str | None) -> list[dict[str, Any]]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src  # the server subprocess imports this chinwag first
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--scenario", scenarios, "--runs", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        json.loads(line)
        for line in done.stdout.splitlines()
        if line.startswith("{") and '"median"' not in line
    ]


def median_of(reports: list[dict[str, Any]], scenario: str, key: str) -> float | None:
    values = [r[key] for r in reports if r.get("scenario") == scenario and r.get(key) is not None]
    return statistics.median(values) if values else None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    p.add_argument("--before", required=True, metavar="DIR", help="src folder of the old code")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scenario", default="A,B,C,C1")
    args = p.parse_args(argv)
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for number in range(args.rounds):
        for label, src in (("before", args.before), ("after", None)):
            runs[label] += one_round(args.scenario, src)
            print(f"round {number + 1}: {label} done", file=sys.stderr, flush=True)
    print("| scenario | figure | before (median) | after (median) | after / before |")
    print("|---|---|---|---|---|")
    for scenario in args.scenario.split(","):
        for key in FIGURES.get(scenario, ()):
            before = median_of(runs["before"], scenario, key)
            after = median_of(runs["after"], scenario, key)
            ratio = f"{after / before:.2f}" if before and after is not None else "-"
            print(f"| {scenario} | {key} | {before} | {after} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
