"""`python -m bench [--scenario A,B,...] [--runs N] [--quick]`: one JSON line per run, then
the median of each scenario and a markdown table against the targets of issue 5."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bench.history import run_history
from bench.load import run_load
from bench.profile import ENV
from bench.scenarios import irc_table, load_specs, sitting_table, table, workers_table
from bench.server import C_SERVERS
from bench.stats import median_report

ALL = ("A", "A20", "B", "BW", "C", "C1", "D", "IA", "IB", "IC", "NB", "NC", "PB", "PC")
# Over PostgreSQL + NATS, one process against `--workers 2`: asked for by name (they need
# both services), e.g. --scenario AP1,AP2,BP1,BP2.
SHARED = ("AP1", "AP2", "BP1", "BP2")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--scenario", default=",".join(ALL), help="comma-separated (default: all)")
    p.add_argument("--runs", type=int, default=None, help="runs per scenario (default 3)")
    p.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    p.add_argument("--profile", metavar="DIR", help="py-spy the server into DIR (raw stacks)")
    p.add_argument("--messages", type=int, default=None, help="D: messages in the big room")
    p.add_argument("--procs", type=int, default=None, help="generator processes (A: 2, AP*: 3)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.profile:
        os.environ[ENV] = os.path.abspath(args.profile)
    runs = args.runs or (1 if args.quick else 3)
    wanted = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in ALL + SHARED]
    if unknown:
        print(
            f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(ALL + SHARED)}",
            file=sys.stderr,
        )
        return 2
    specs = load_specs(args.quick)
    if args.procs:
        specs = {name: replace(spec, procs=args.procs) for name, spec in specs.items()}
    medians: dict[str, dict[str, Any]] = {}
    for name in wanted:
        if name == "D":
            messages = args.messages or (100_000 if args.quick else 1_000_000)
            reports = run_history(
                messages, 50 if args.quick else 200, 2.0 if args.quick else 5.0, runs
            )
            for report in reports:
                print(json.dumps(report), flush=True)
        elif (
            specs[name].server in C_SERVERS
            and shutil.which(C_SERVERS[specs[name].server][1]) is None
        ):
            program = C_SERVERS[specs[name].server][1]
            print(
                f"{name}: skipped, {program} is not installed (Debian: apt-get install {program})"
            )
            continue
        else:
            reports = []
            for _ in range(runs):
                report = run_load(specs[name])
                print(json.dumps(report), flush=True)
                reports.append(report)
        medians[name] = median_report(reports)
        print(json.dumps({"median": True, **medians[name]}), flush=True)
    print()
    print(table(medians))
    if any(name.startswith(("I", "N")) for name in medians):
        print()
        print(irc_table(medians))
    if any(name in SHARED for name in medians):
        print()
        print(workers_table(medians))
    same_sitting = sitting_table(medians)
    if same_sitting:
        print()
        print(same_sitting)
    return 0


if __name__ == "__main__":
    sys.exit(main())
