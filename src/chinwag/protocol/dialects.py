"""The dialects a listener can speak, by the names `--listen PORT=DIALECT` uses."""

from __future__ import annotations

from collections.abc import Callable

from chinwag.protocol.codec import Codec
from chinwag.protocol.native import NativeCodec

CodecFactory = Callable[..., Codec]

DIALECTS: dict[str, CodecFactory] = {
    "native": NativeCodec,
    "auto": NativeCodec,  # until dialect detection lands, the default port speaks native
}


def codec_factory(dialect: str) -> CodecFactory:
    try:
        return DIALECTS[dialect]
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ValueError(f"unknown dialect {dialect!r} (known: {known})") from None
