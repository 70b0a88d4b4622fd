"""The surface every server-side dialect codec offers (sans-I/O, after h11 and websockets).

Input: the connection owns the framing (framing.LineFraming, or one WebSocket text frame per
message) and hands the codec whole messages:

    codec.receive_message(bytes)      one framed message, without its terminator
    codec.receive_too_long(size, lim) the framing dropped an oversized message
    codec.receive_eof()               the peer closed its side
    codec.events_received()           drain the commands decoded so far
    codec.greeting()                  bytes to send unasked when the connection opens
    codec.running(command)            the command is being handed to the engine now

Decoding never raises on remote input: a message that cannot be accepted becomes a
`BadInput` command, which the engine answers with an error in the client's own dialect.

Output: the server renders each notice for a viewer (the recipient's current name, None
before it has joined):

    codec.observe(notice)             a notice for this connection alone (welcome, error) is
                                      about to go out: the one place output changes state
    codec.render(notice, viewer)      the bytes; pure: same notice and viewer, same bytes
    codec.share_key(notice, viewer)   a key under which those bytes may be reused for other
                                      connections, or None to render for this one alone
    codec.apart(notice)               the few viewers whose bytes differ from the rest of
                                      their presence_key (None: cannot say): whole runs are
                                      then shared by everyone else

Which notices may render differently per viewer is decided once, by `concerns()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Hashable
from typing import ClassVar

from chinwag.protocol import events as ev
from chinwag.protocol.events import BadInput, Command, ErrorCode, Notice
from chinwag.protocol.framing import LineFraming, LineTooLong


def concerns(notice: Notice, viewer: str | None) -> bool:
    """True when this viewer's bytes for the notice may differ from other viewers'.

    Its own live chat message (no echo, or an acknowledgement), a private message it is a
    party to, its own rename (rendered once the session has the new name), and what is only
    ever sent to one connection: a welcome or an error.
    """
    if isinstance(notice, ev.ChatMessage):
        return not notice.history and notice.username == viewer
    if isinstance(notice, ev.PrivateMessage):
        return viewer is not None and viewer in (notice.username, notice.target)
    if isinstance(notice, ev.UserRenamed):
        return notice.new == viewer
    return isinstance(notice, ev.Welcome | ev.Error)


class Codec(ABC):
    """One connection's translator between its wire dialect and chinwag events."""

    dialect: ClassVar[str]
    # True if render() may depend on the viewer (the seed dialects); see concerns().
    personal: ClassVar[bool] = False
    # True when render() depends on neither the viewer nor this instance: every codec of
    # the class gives the same bytes, so the fan-out may render once per class and skip
    # share_key(). Derived from `personal` unless a class says otherwise.
    always_shared: ClassVar[bool] = True

    __slots__ = ("_decoded",)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "always_shared" not in cls.__dict__:
            cls.always_shared = not cls.personal

    def __init__(self) -> None:
        # Commands not yet drained, or None: a list is made only when a command comes, so an
        # idle connection holds none (an empty list is 56 bytes).
        self._decoded: list[Command] | None = None

    # ------------------------------------------------------------------ input

    @abstractmethod
    def receive_message(self, message: bytes) -> None:
        """Decode one framed message (a line without its terminator) into commands."""

    def receive_too_long(self, size: int, limit: int) -> None:
        """The framing dropped a message of `size` bytes, over `limit`."""
        self._bad(ErrorCode.LINE_TOO_LONG, f"Line too long ({size} bytes; the limit is {limit})")

    def receive_eof(self) -> None:  # noqa: B027 (most dialects have nothing to do)
        """The peer closed its side (after the framing's last message)."""

    def events_received(self) -> list[Command]:
        """Drain the commands decoded so far."""
        events = self._decoded
        if events is None:
            return []
        self._decoded = None
        return events

    def greeting(self) -> bytes:
        """Bytes to send unasked when a connection opens (most dialects: none)."""
        return b""

    def running(self, command: Command) -> None:  # noqa: B027 (most dialects need not know)
        """The connection is handing this command (one this codec decoded) to the engine.

        Called again for a command that was throttled and is retried. Replies carry no
        reference to the command they answer; a dialect whose answers depend on what was
        asked (IRC: NAMES, WHO and ISON all read a user list) learns it here."""

    # ------------------------------------------------------------------ output

    def observe(self, notice: Notice) -> None:  # noqa: B027 (stateless dialects ignore it)
        """A notice for this connection alone is going out (called before render)."""

    @abstractmethod
    def render(self, notice: Notice, viewer: str | None) -> bytes:
        """The bytes (whole lines, terminated) that carry this notice to this viewer."""

    def share_key(self, notice: Notice, viewer: str | None) -> Hashable | None:
        """A key under which render(notice, viewer) can be reused for other connections."""
        if self.personal and concerns(notice, viewer):
            return None
        return type(self)

    def apart(self, notice: Notice) -> Collection[str] | None:
        """The viewers whose bytes for this notice may differ from those of every other
        connection with their `presence_key` (its own echo, say); None: any viewer's may.

        The fan-out asks once per run and codec class: a recipient not named by any notice
        of the run then takes the bytes rendered once for its key, with no per-notice work.
        Default: no such promise (render per viewer, through share_key)."""
        return None

    def presence_key(self, viewer: str | None) -> Hashable | None:
        """A key under which this viewer's bytes for every join and leave notice are the
        same as for every other connection with the key (the presence logs of big rooms
        then render each notice once, not once per member); None: render per viewer."""
        return None if self.personal else type(self)

    # ------------------------------------------------------------------ for subclasses

    @property
    def _events(self) -> list[Command]:
        """The list decoders append commands to, made at the first one."""
        events = self._decoded
        if events is None:
            events = self._decoded = []
        return events

    def _emit(self, event: Command) -> None:
        self._events.append(event)

    def _bad(self, code: ErrorCode, message: str) -> None:
        self._events.append(BadInput(code, message))


def feed_lines(codec: Codec, framing: LineFraming, data: bytes) -> list[Command]:
    """What a line-framed connection does with bytes read: frame, decode, drain."""
    for item in framing.feed(data):
        if isinstance(item, LineTooLong):
            codec.receive_too_long(item.size, framing.max_line)
        else:
            codec.receive_message(item)
    return codec.events_received()


def finish_lines(codec: Codec, framing: LineFraming) -> list[Command]:
    """What a line-framed connection does at end of stream: the last line, then EOF."""
    last = framing.finish()
    if isinstance(last, LineTooLong):
        codec.receive_too_long(last.size, framing.max_line)
    elif last is not None:
        codec.receive_message(last)
    codec.receive_eof()
    return codec.events_received()
