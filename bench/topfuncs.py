"""Summarise py-spy raw (collapsed) stacks: `python -m bench.topfuncs FILE [N]`.

Prints the functions with the most samples on top of the stack (self time) and, inclusive,
anywhere in the stack: what the profile says bounds the server.
"""

from __future__ import annotations

import sys
from collections import Counter


def summarise(path: str, top: int = 25) -> str:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            frames = stack.split(";")
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                anywhere[frame] += count
    out = [f"{total} samples", "", "self:"]
    out += [f"{100 * c / total:5.1f}%  {name}" for name, c in own.most_common(top)]
    out += ["", "inclusive:"]
    out += [f"{100 * c / total:5.1f}%  {name}" for name, c in anywhere.most_common(top)]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25))
