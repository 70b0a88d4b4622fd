"""Giving freed heap memory back to the operating system after a burst of output.

A presence tick in a room of thousands hands the kernel tens of megabytes at once; what
a socket cannot take yet waits in user-space buffers, which are freed a moment later.
glibc keeps such freed pages for reuse, so the process's resident size stays at the
peak of the burst. `malloc_trim(0)` returns the free pages (a few milliseconds for a
heap of tens of megabytes). Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:  # the symbols already loaded into this process, libc's among them
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None
    return trim


_malloc_trim = _find_malloc_trim()


def release_free_memory() -> bool:
    """Return the allocator's free pages to the OS; False where that is not possible."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True
