"""chinwag's own fan-out benchmark: `python -m bench` (see docs/performance.md)."""
