"""Scenarios A, B, C, C1, D of issue 5, their targets and the comparison table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bench.load import LoadSpec


def load_specs(quick: bool) -> dict[str, LoadSpec]:
    """The load scenarios; `quick` shrinks them to a smoke run of a few seconds each."""
    t = 2.0 if quick else 10.0
    many = 500 if quick else 5000
    specs = {
        "A": LoadSpec("A", clients=100, senders=10, duration=t, window=100, procs=2),
        "A20": LoadSpec("A20", clients=100, senders=10, duration=t, window=20, procs=2),
        "B": LoadSpec("B", clients=200 if quick else 1000, senders=5, duration=t, rate=20.0),
        # B's load with every client on WebSocket (/ws on the web port) instead of TCP.
        "BW": LoadSpec(
            "BW", clients=200 if quick else 1000, senders=5, duration=t, rate=20.0, websocket=True
        ),
        "C": LoadSpec("C", clients=many, rooms=50, procs=2, wait_notices=True),
        "C1": LoadSpec("C1", clients=many, rooms=1, procs=2, wait_notices=True),
    }
    # A and B over PostgreSQL + NATS: one process (AP1, BP1) against `--workers 2` (AP2,
    # BP2), in one sitting (issue 15). More generator processes for A: they must not be
    # the limit once two workers deliver (docs/performance.md).
    for workers in (1, 2):
        specs[f"AP{workers}"] = replace(
            specs["A"], name=f"AP{workers}", shared=True, workers=workers, procs=3
        )
        specs[f"BP{workers}"] = replace(
            specs["B"], name=f"BP{workers}", shared=True, workers=workers
        )
    # The same loads over IRC, on chinwag (I*), ngIRCd (N*) and InspIRCd (P*). The C
    # servers are asked for no echo-message (ngIRCd has none), so nothing acknowledges a
    # sender there: A (window) is chinwag's alone.
    for server, letter in (("chinwag", "I"), ("ngircd", "N"), ("inspircd", "P")):
        for base in ("A", "B", "C"):
            if base == "A" and server != "chinwag":
                continue
            name = letter + base
            specs[name] = replace(specs[base], name=name, dialect="irc", server=server)
    return specs


@dataclass(frozen=True, slots=True)
class Target:
    scenario: str
    label: str
    key: str
    unit: str
    goal: float
    higher_is_better: bool = False
    references: str = ""  # ngircd / InspIRCd / 40-line relay, from the issue

    def met(self, value: float) -> bool:
        return value >= self.goal if self.higher_is_better else value <= self.goal


TARGETS: tuple[Target, ...] = (
    Target("A", "server CPU-s per million deliveries", "server_cpu_s_per_m", "s", 0.10,
           references="0.19 / 0.20 / 0.03"),
    Target("A20", "p99 latency, window 20", "p99_ms", "ms", 8.0,
           references="49 / 44 / 7.5 ms"),
    Target("B", "loss", "loss", "", 0, references="0 / 0 / 0"),
    Target("B", "p99 latency", "p99_ms", "ms", 8.0, references="8.7 / 10.9 / 14.6 ms"),
    Target("B", "server CPU at 100,000 deliveries/s", "server_cpu_pct", "%", 55.0,
           references="73 / 63 / 63 %"),
    Target("BW", "loss", "loss", "", 0),
    Target("BW", "p99 latency", "p99_ms", "ms", 8.0),
    Target("BW", "server CPU at 100,000 deliveries/s", "server_cpu_pct", "%", 55.0),
    Target("C", "RSS per idle joined connection", "rss_per_conn_kb", "KB", 2.3,
           references="2.8 / 2.3 / 1.5 KB"),
    Target("C", "time to connect and join all", "connect_s", "s", 3.0,
           references="6.0 / 5.9 / 0.5 s"),
    Target("C1", "server CPU, all joining one room", "server_join_cpu_s", "s", 4.0,
           references="173 / 8 / 0.15 s"),
    Target("C1", "RSS per connection", "rss_per_conn_kb", "KB", 4.0,
           references="5.2 / 7.3 / 1.5 KB"),
    Target("D", "durable writes/s, echo after commit", "durable_writes_per_s", "/s", 20_000,
           higher_is_better=True, references="ergo ~1,000/s"),
)  # fmt: skip

# Figures shown without a target, for context.
EXTRA: dict[str, tuple[tuple[str, str], ...]] = {
    "A": (("deliveries/s", "deliveries_per_s"), ("generator CPU %", "gen_cpu_pct")),
    "A20": (("deliveries/s", "deliveries_per_s"), ("p50 ms", "p50_ms")),
    "B": (("deliveries/s", "deliveries_per_s"), ("p50 ms", "p50_ms"), ("gen CPU %", "gen_cpu_pct")),
    "BW": (("deliveries/s", "deliveries_per_s"), ("p50 ms", "p50_ms"),
           ("gen CPU %", "gen_cpu_pct")),
    "C": (("clients", "connected"), ("notices", "notices_received"), ("quiet s", "quiet_s")),
    "C1": (("clients", "connected"), ("connect s", "connect_s"), ("quiet s", "quiet_s")),
    "D": (("history p50 ms (wire)", "wire_p50_ms"), ("history p99 ms (wire)", "wire_p99_ms"),
          ("history p50 ms (store)", "store_p50_ms"), ("history p99 ms (store)", "store_p99_ms")),
}  # fmt: skip


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(numerator: Any, denominator: Any) -> str:
    """numerator / denominator to two places, or "-" when either is missing (or zero)."""
    if not denominator or numerator is None:
        return "-"
    return f"{numerator / denominator:.2f}"


def table(medians: dict[str, dict[str, Any]], fmt: Callable[[Any], str] = _fmt) -> str:
    """A markdown table: every target of the issue beside the measured median."""
    lines = [
        "| scenario | figure | chinwag (median) | target | met | ngircd / InspIRCd / relay |",
        "|---|---|---|---|---|---|",
    ]
    for target in TARGETS:
        report = medians.get(target.scenario)
        if report is None:
            continue
        value = report.get(target.key)
        sign = ">=" if target.higher_is_better else "<="
        met = "-" if value is None else ("yes" if target.met(value) else "no")
        lines.append(
            f"| {target.scenario} | {target.label} | {fmt(value)} {target.unit} |"
            f" {sign} {fmt(target.goal)} {target.unit} | {met} | {target.references} |"
        )
    for scenario, extras in EXTRA.items():
        report = medians.get(scenario)
        if report is None:
            continue
        for label, key in extras:
            lines.append(f"| {scenario} | {label} | {fmt(report.get(key))} | | | |")
    return "\n".join(lines)


# Rows of the IRC comparison: (label, key, lower is better).
IRC_ROWS = (
    ("server CPU-s per million deliveries", "server_cpu_s_per_m", "B"),
    ("p99 latency ms", "p99_ms", "B"),
    ("server CPU %", "server_cpu_pct", "B"),
    ("loss", "loss", "B"),
    ("RSS per idle joined connection KB", "rss_per_conn_kb", "C"),
    ("time to connect and join all s", "connect_s", "C"),
    ("server CPU-s, all joining", "server_join_cpu_s", "C"),
)


def irc_table(medians: dict[str, dict[str, Any]]) -> str:
    """chinwag (I*) against ngIRCd (N*) and InspIRCd (P*) over IRC, one sitting: each ratio
    is theirs / chinwag's."""
    lines = [
        "| IRC, same generator | chinwag | ngIRCd | InspIRCd | ngIRCd / chinwag"
        " | InspIRCd / chinwag |",
        "|---|---|---|---|---|---|",
    ]
    for label, key, base in IRC_ROWS:
        ours = medians.get("I" + base, {}).get(key)
        others = [medians.get(letter + base, {}).get(key) for letter in "NP"]
        if ours is None and all(o is None for o in others):
            continue
        ratios = [_ratio(o, ours) for o in others]
        cells = " | ".join([_fmt(ours), *map(_fmt, others), *ratios])
        lines.append(f"| {base}: {label} | {cells} |")
    return "\n".join(lines)


# Rows of the workers comparison: (label, key, scenario letter, the target's rule).
WORKER_ROWS = (
    ("deliveries/s", "deliveries_per_s", "A", "2 workers >= 1.6x one"),
    ("server CPU-s per million deliveries", "server_cpu_s_per_m", "A", "no worse than one"),
    ("generator CPU %", "gen_cpu_pct", "A", ""),
    ("loss", "loss", "B", "0"),
    ("p99 latency ms", "p99_ms", "B", "no worse than one"),
    ("p50 latency ms", "p50_ms", "B", ""),
    ("server CPU %", "server_cpu_pct", "B", ""),
)


def workers_table(medians: dict[str, dict[str, Any]]) -> str:
    """One process against `--workers 2`, both over PostgreSQL + NATS, one sitting."""
    lines = ["| PostgreSQL + NATS | one process | --workers 2 | 2 / 1 | target |",
             "|---|---|---|---|---|"]  # fmt: skip
    for label, key, base, target in WORKER_ROWS:
        one = medians.get(f"{base}P1", {}).get(key)
        two = medians.get(f"{base}P2", {}).get(key)
        if one is None and two is None:
            continue
        ratio = _ratio(two, one)
        lines.append(f"| {base}: {label} | {_fmt(one)} | {_fmt(two)} | {ratio} | {target} |")
    return "\n".join(lines)


# Rows of the same-sitting comparison of issue 17: chinwag's native protocol against ngIRCd
# speaking IRC to the same generator. (label, key, chinwag's scenario, ngIRCd's scenario)
SITTING_ROWS = (
    ("B: server CPU-s per million deliveries", "server_cpu_s_per_m", "B", "NB"),
    ("B: p99 latency ms", "p99_ms", "B", "NB"),
    ("B: p50 latency ms", "p50_ms", "B", "NB"),
    ("B: loss", "loss", "B", "NB"),
    ("B: generator CPU %", "gen_cpu_pct", "B", "NB"),
    ("C: RSS per idle joined connection KB", "rss_per_conn_kb", "C", "NC"),
    ("C: time to connect and join all s", "connect_s", "C", "NC"),
    ("C: clients connected", "connected", "C", "NC"),
)


def sitting_table(medians: dict[str, dict[str, Any]]) -> str:
    """chinwag (native) against ngIRCd in this sitting: each figure with the ratio
    chinwag / ngIRCd beside it (below 1: chinwag needs less), the generator's CPU shown
    so that a generator-bound run is visible."""
    lines = [
        "| same sitting | chinwag (native) | ngIRCd | chinwag / ngIRCd |",
        "|---|---|---|---|",
    ]
    for label, key, ours_name, theirs_name in SITTING_ROWS:
        ours = medians.get(ours_name, {}).get(key)
        theirs = medians.get(theirs_name, {}).get(key)
        if ours is None or theirs is None:
            continue
        lines.append(f"| {label} | {_fmt(ours)} | {_fmt(theirs)} | {_ratio(ours, theirs)} |")
    return "\n".join(lines) if len(lines) > 2 else ""
