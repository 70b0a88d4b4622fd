"""Tests run on the event loop production uses: uvloop where it is installed."""

import asyncio

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

if uvloop is not None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
