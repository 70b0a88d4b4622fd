"""Reading a process's CPU time and resident memory from /proc (Linux)."""

from __future__ import annotations

import os

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, in seconds (clock-tick resolution)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    """VmRSS of `pid`, in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def own_cpu_seconds() -> float:
    """CPU time (user + system) of the calling process."""
    times = os.times()
    return times.user + times.system


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (a `--workers` supervisor and its workers)."""
    found = [pid]
    for parent in found:  # grows as it goes: breadth first
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", encoding="ascii") as f:
                    found.extend(int(child) for child in f.read().split())
            except OSError:
                continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its descendants alive now."""
    total = 0.0
    for member in tree(pid):
        try:
            total += cpu_seconds(member)
        except OSError:  # gone meanwhile
            continue
    return total


def tree_rss_bytes(pid: int) -> int:
    total = 0
    for member in tree(pid):
        try:
            total += rss_bytes(member)
        except OSError:
            continue
    return total


def listening(pid: int, port: int) -> set[int]:
    """The processes of `pid`'s tree holding a socket that listens on TCP `port`."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:  # LISTEN
                inodes.add(fields[9])
    holders: set[int] = set()
    for member in tree(pid):
        try:
            links = [
                os.readlink(f"/proc/{member}/fd/{fd}") for fd in os.listdir(f"/proc/{member}/fd")
            ]
        except OSError:
            continue
        if any(link[8:-1] in inodes for link in links if link.startswith("socket:[")):
            holders.add(member)
    return holders
