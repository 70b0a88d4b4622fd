"""One atheris target per codec: `python -m fuzz.codecs DIALECT [libFuzzer flags]`.

The invariant is the codecs' promise: whatever bytes a peer sends, split wherever the
network splits them, decoding never raises. A server codec turns them into commands (a
`BadInput` for what it cannot accept); the client codec into notices (an `UnreadableNotice`
for what it cannot read). Any exception is a finding.

    python -m fuzz.codecs native -runs=100000
"""

from __future__ import annotations

import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from chinwag.protocol import events as ev
    from chinwag.protocol.codec import Codec, feed_lines, finish_lines
    from chinwag.protocol.detect import DetectingCodec
    from chinwag.protocol.dialects import DIALECTS
    from chinwag.protocol.framing import LineFraming
    from chinwag.protocol.native_client import NativeClientCodec, UnreadableNotice

COMMANDS: tuple[type, ...] = tuple(ev.Command.__args__)
NOTICES: tuple[type, ...] = (*ev.Notice.__args__, UnreadableNotice)
TARGETS = (*sorted(DIALECTS), "client")


def chunks(data: bytes) -> list[bytes]:
    """The input as the network might deliver it: its first byte picks the cut points."""
    if not data:
        return [b""]
    step = 1 + data[0] % 17
    body = data[1:]
    return [body[i : i + step] for i in range(0, len(body), step)] or [b""]


def server_target(dialect: str) -> Any:
    factory = DIALECTS[dialect]

    def test(data: bytes) -> None:
        codec: Codec = factory()
        framing = LineFraming(max_line=256)  # small: the oversized-line paths run too
        events = list(codec.events_received())
        codec.greeting()
        for chunk in chunks(data):
            events += feed_lines(codec, framing, chunk)
            if isinstance(codec, DetectingCodec) and codec.inner is not None:
                codec = codec.inner  # as the connection does once the dialect is known
        events += finish_lines(codec, framing)
        for event in events:
            if not isinstance(event, COMMANDS):
                raise AssertionError(f"{dialect} decoded a non-command: {event!r}")

    return test


def client_target(data: bytes) -> None:
    codec = NativeClientCodec(max_line=256)
    events: list[Any] = []
    for chunk in chunks(data):
        codec.receive_data(chunk)
        events += codec.events_received()
    codec.receive_eof()
    events += codec.events_received()
    for event in events:
        if not isinstance(event, NOTICES):
            raise AssertionError(f"the client decoded a non-notice: {event!r}")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        print(f"usage: python -m fuzz.codecs {{{'|'.join(TARGETS)}}} [libFuzzer flags]")
        sys.exit(2)
    target = sys.argv.pop(1)
    test = client_target if target == "client" else server_target(target)
    atheris.Setup(sys.argv, test)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
