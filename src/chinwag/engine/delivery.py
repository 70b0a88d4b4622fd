"""What the engine hands to the server: a notice and who should get it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from chinwag.engine.session import Session
from chinwag.protocol.events import Notice


@dataclass(slots=True)
class Delivery:
    """Send `notice` to every session in `to` except `exclude`.

    `to` may be a room's live member dict: deliveries are read when the handler has
    returned, so they see the state the handler left behind.
    `durable_id` is the message id that must be committed before these bytes leave.
    `close` (a reason) asks the server to close the recipients once the notice is written.
    `room` is the room key when `to` is that room's member dict: the server may then batch
    the room's deliveries (see server/fanout.py).
    """

    notice: Notice
    to: Collection[Session]
    exclude: Session | None = None
    durable_id: int = 0
    close: str | None = None
    room: str | None = None
