"""`python -m bench [--scenario A,B,...] [--runs N] [--quick]`: one JSON line per run, then
the median of each scenario and a markdown table against the targets of issue 5."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from bench.history import run_history
from bench.load import run_load
from bench.profile import ENV
from bench.scenarios import irc_table, load_specs, sitting_table, table
from bench.stats import median_report

ALL = ("A", "A20", "B", "BW", "C", "C1", "D", "IA", "IB", "IC", "NB", "NC")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--scenario", default=",".join(ALL), help="comma-separated (default: all)")
    p.add_argument("--runs", type=int, default=None, help="runs per scenario (default 3)")
    p.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    p.add_argument("--profile", metavar="DIR", help="py-spy the server into DIR (raw stacks)")
    p.add_argument("--messages", type=int, default=None, help="D: messages in the big room")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.profile:
        os.environ[ENV] = os.path.abspath(args.profile)
    runs = args.runs or (1 if args.quick else 3)
    wanted = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in ALL]
    if unknown:
        print(
            f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(ALL)}", file=sys.stderr
        )
        return 2
    specs = load_specs(args.quick)
    medians: dict[str, dict[str, Any]] = {}
    for name in wanted:
        if name == "D":
            messages = args.messages or (100_000 if args.quick else 1_000_000)
            reports = run_history(
                messages, 50 if args.quick else 200, 2.0 if args.quick else 5.0, runs
            )
            for report in reports:
                print(json.dumps(report), flush=True)
        elif specs[name].server == "ngircd" and shutil.which("ngircd") is None:
            print(f"{name}: skipped, ngircd is not installed (Debian: apt-get install ngircd)")
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
    same_sitting = sitting_table(medians)
    if same_sitting:
        print()
        print(same_sitting)
    return 0


if __name__ == "__main__":
    sys.exit(main())
