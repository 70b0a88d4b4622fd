"""Tests run on the event loop production uses: uvloop where it is installed."""

import asyncio
import os

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

# Servers started as processes (`chinwag serve`) serve no web page unless a test asks:
# several at once, or beside a developer's own server, would all want port 8080.
os.environ.setdefault("CHINWAG_HTTP_PORT", "0")

if uvloop is not None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
