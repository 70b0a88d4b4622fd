"""Rendering notices for a recipient, sharing bytes between recipients where allowed.

Server layer, no sockets. The codec decides what may be shared (`Codec.share_key`, one
rule for every dialect); this only keeps the cache of what was rendered already.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from chinwag.protocol.codec import Codec
from chinwag.protocol.events import Notice


def render_for(
    codec: Codec,
    notices: Sequence[Notice],
    start: int,
    viewer: str | None,
    cache: dict[Any, bytes],
) -> bytes:
    """The bytes of notices[start:] for this codec and viewer, shared through `cache`."""
    parts: list[bytes] = []
    for index in range(start, len(notices)):
        notice = notices[index]
        key: Hashable | None = codec.share_key(notice, viewer)
        if key is None:  # depends on this viewer
            parts.append(codec.render(notice, viewer))
            continue
        data = cache.get((index, key))
        if data is None:
            data = cache[(index, key)] = codec.render(notice, viewer)
        parts.append(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)
