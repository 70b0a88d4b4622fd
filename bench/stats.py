"""Percentiles from latency histograms, medians of runs."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from bench.client import BUCKET_NS


def merge(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for hist in histograms:
        for bucket, count in hist.items():
            merged[bucket] = merged.get(bucket, 0) + count
    return merged


def percentiles_ms(hist: Mapping[int, int], points: Iterable[float]) -> dict[str, float | None]:
    """`{"p50": ms, ...}` from a histogram of BUCKET_NS buckets (bucket middle)."""
    total = sum(hist.values())
    out: dict[str, float | None] = {}
    ordered = sorted(hist.items())
    for point in points:
        key = f"p{point:g}"
        if not total:
            out[key] = None
            continue
        rank = point / 100 * total
        seen = 0
        for bucket, count in ordered:
            seen += count
            if seen >= rank:
                out[key] = round((bucket + 0.5) * BUCKET_NS / 1e6, 3)
                break
    return out


def median_report(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every numeric field over runs; other fields from the first run."""
    if not runs:
        return {}
    out: dict[str, Any] = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        med = statistics.median(values)
        out[key] = round(med, 6) if isinstance(med, float) else med
    out["runs"] = len(runs)
    return out
