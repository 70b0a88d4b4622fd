"""Storage layer: the small `Store` interface and its backends (memory, SQLite)."""
