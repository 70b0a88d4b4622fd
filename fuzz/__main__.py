"""`python -m fuzz [RUNS]`: every codec target for RUNS inputs each (default 100,000)."""

from __future__ import annotations

import subprocess
import sys
import time

from chinwag.protocol.dialects import DIALECTS

TARGETS = (*sorted(DIALECTS), "client")  # as fuzz.codecs (importing it loads atheris)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    failed = []
    for target in TARGETS:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "fuzz.codecs", target, f"-runs={runs}", "-max_len=4096"],
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - began
        verdict = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
        print(f"{target:8} {runs:>9,} inputs in {seconds:5.1f} s: {verdict}", flush=True)
        if done.returncode != 0:
            failed.append(target)
            print(done.stderr[-3000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
