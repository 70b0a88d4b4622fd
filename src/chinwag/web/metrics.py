"""/metrics: the server's own counters in Prometheus's text format, read at scrape time.

A custom collector (prometheus-client's recommended way to export numbers another
program keeps): nothing on the hot path calls the library; a scrape reads plain ints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from chinwag.server.app import ChatServer


class ServerCollector(Collector):
    def __init__(self, server: ChatServer) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        server = self.server
        by_front_end = Counter(conn.codec.dialect for conn in server.connections)
        connections = GaugeMetricFamily(
            "chinwag_connections", "Open chat connections by front end", labels=["front_end"]
        )
        for front_end, count in sorted(by_front_end.items()):
            connections.add_metric([front_end], count)
        yield connections
        yield CounterMetricFamily(
            "chinwag_messages",
            "Messages stored since start (chat, private, topic)",
            value=server.messages_stored(),
        )
        yield CounterMetricFamily(
            "chinwag_deliveries",
            "Notices queued to connections by the fan-out since start",
            value=server.fanout.deliveries,
        )
        queued = 0
        for conn in server.connections:
            queued += conn.out_size
            if conn.busy is not None:
                queued += conn.busy.held_size
            if conn.transport is not None:
                queued += conn.transport.get_write_buffer_size()
        yield GaugeMetricFamily(
            "chinwag_bytes_queued", "Bytes owed to clients, not yet taken by them", value=queued
        )
        yield CounterMetricFamily(
            "chinwag_slow_consumer_cuts",
            "Connections dropped because they did not read what they were sent",
            value=server.slow_cuts,
        )
        yield CounterMetricFamily(
            "chinwag_logins_failed",
            "Failed logins (wrong password, unknown account, bad token)",
            value=server.engine.throttle.total_failed,
        )
        commits = server.outbox.commit_seconds
        yield HistogramMetricFamily(
            "chinwag_store_commit_seconds",
            "Time a store commit took",
            buckets=commits.cumulative(),
            sum_value=commits.total,
        )


class Metrics:
    """The registry holding the server's collector, rendered on demand."""

    def __init__(self, server: ChatServer) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ServerCollector(server))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
