"""The bench's same-sitting table: ratios beside the figures, rows only where both ran."""

from __future__ import annotations

from bench.scenarios import sitting_table


def test_the_same_sitting_table_puts_the_ratio_beside_both_figures():
    medians = {
        "B": {"server_cpu_s_per_m": 2.0, "p99_ms": 9.0, "gen_cpu_pct": 60.0},
        "NB": {"server_cpu_s_per_m": 4.0, "p99_ms": 10.0, "gen_cpu_pct": 50.0},
        "C": {"rss_per_conn_kb": 2.2},
    }
    rows = sitting_table(medians).splitlines()
    assert "| B: server CPU-s per million deliveries | 2 | 4 | 0.50 |" in rows
    assert "| B: p99 latency ms | 9 | 10 | 0.90 |" in rows
    assert "| B: generator CPU % | 60 | 50 | 1.20 |" in rows
    assert not any(row.startswith("| C:") for row in rows)  # ngIRCd's C did not run


def test_without_ngircd_there_is_no_table():
    assert sitting_table({"B": {"p99_ms": 9.0}}) == ""
