"""The load generator's core on a tiny configuration: no loss, a well-formed report.

No timing assertions: the benchmark is a program with a report, not a test.
"""

from bench.load import LoadSpec, run_load
from bench.scenarios import table
from bench.stats import median_report


def test_tiny_windowed_run_loses_nothing():
    spec = LoadSpec("smoke", clients=5, senders=1, duration=1.0, window=5, data=":memory:")
    report = run_load(spec)
    assert report["connected"] == 5 and report["connect_failed"] == 0
    assert report["messages_sent"] > 0
    assert report["expected"] == 5 * report["messages_sent"]
    assert report["loss"] == 0 and report["received"] == report["expected"]
    for key in ("deliveries_per_s", "server_cpu_pct", "server_rss_mb", "rss_per_conn_kb",
                "gen_cpu_pct", "connect_s", "p50_ms", "p95_ms", "p99_ms"):  # fmt: skip
        assert isinstance(report[key], int | float), key
    assert report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"]
    assert "| B |" not in table({"A": median_report([report])})


def test_tiny_websocket_run_loses_nothing():
    spec = LoadSpec(
        "smoke-ws", clients=5, senders=1, duration=1.0, window=5, data=":memory:", websocket=True
    )
    report = run_load(spec)
    assert report["connected"] == 5 and report["connect_failed"] == 0
    assert report["messages_sent"] > 0
    assert report["loss"] == 0 and report["received"] == 5 * report["messages_sent"]


def test_tiny_irc_run_loses_nothing_and_counts_joins():
    """The same generator speaking IRC to chinwag: echo-message acknowledges the senders."""
    spec = LoadSpec(
        "irc", clients=5, senders=1, duration=1.0, window=5, data=":memory:", dialect="irc"
    )
    report = run_load(spec)
    assert report["connected"] == 5 and report["connect_failed"] == 0
    assert report["messages_sent"] > 0
    assert (
        report["loss"] == 0
        and report["received"] == report["expected"] == 5 * report["messages_sent"]
    )
    assert report["p50_ms"] <= report["p99_ms"]
    rooms = LoadSpec("irc-c", clients=6, rooms=3, wait_notices=True, data=":memory:", dialect="irc")
    report = run_load(rooms)
    assert report["notices_received"] == report["notices_expected"] > 0


def test_the_irc_table_compares_chinwag_with_both_c_servers():
    from bench.scenarios import irc_table, load_specs

    specs = load_specs(quick=True)
    assert (specs["PB"].server, specs["PB"].dialect) == ("inspircd", "irc")
    assert "PA" not in specs and "NA" not in specs  # no echo there: no window to run
    medians = {
        "IB": {"server_cpu_s_per_m": 4.0},
        "NB": {"server_cpu_s_per_m": 6.0},
        "PB": {"server_cpu_s_per_m": 2.0},
    }
    row = next(line for line in irc_table(medians).splitlines() if "CPU-s per million" in line)
    assert row.split(" | ")[1:] == ["4", "6", "2", "1.50", "0.50 |"]
