"""The NATS bus: nodes in several processes or machines share rooms through a NATS server.

    chinwag serve --bus nats://127.0.0.1:4222

Subjects: `<prefix>.r.<room key, UTF-8 in hex>` for a room, `<prefix>.u.<hex>` for a user
(hex: keys are Unicode, subject tokens are not), and `<prefix>.all` for envelopes to several
rooms (a rename: every node hears it and keeps it only if it has one of the rooms, so a
node gets it once however many of the rooms it has). A node subscribes at the broker to
the rooms and users it holds, as the fan-out tells it.

- **Its own envelopes a node delivers itself**, at once and on the publisher's stack as
  the in-process bus does, with `exclude` and `close` intact; the broker never sends a
  connection its own messages back (`no_echo`). Other nodes get the frame (frames.py).
- **`publish` never waits**: frames, subscribes and unsubscribes go into one list that a
  writer task hands to the client in that order, so one publisher's envelopes reach every
  node in the order published (NATS keeps one connection's order).
- **Broker restarts**: the client reconnects on its own (every 0.5 s, for ever) and
  subscribes again; while it is away, frames wait in its buffer (2 MiB) and past that are
  lost and counted (`lost`). NATS core is at-most-once: what the server never received,
  or published while a node was not connected, does not arrive. Making a lost frame a
  delay instead of a loss is the store's job (ids, gaps fetched from it): see
  docs/DEVELOPING.md.
- **Shared presence** (server/nodes.py): records on `<prefix>.presence`, every node
  subscribed (and, with `no_echo`, not hearing its own), written by a task of their own so
  that frames waiting for the store never hold up a heartbeat; a node's snapshot is a
  request on `<prefix>.presence.ask.<node id>`, answered by that node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

import nats
import nats.errors

from chinwag.bus.base import (
    Audience,
    Bus,
    Envelope,
    PresenceReceiver,
    PresenceSnapshot,
    Receiver,
    Subscription,
    ToRoom,
    ToRooms,
    ToSession,
    ToUser,
)
from chinwag.bus.frames import BadFrame, decode_frame, encode_frame
from chinwag.errors import BusError

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription as NatsSubscription

log = logging.getLogger("chinwag.bus")

RECONNECT_WAIT = 0.5  # seconds between attempts to reach a restarted broker
CONNECT_TIMEOUT = 2.0
START_TIMEOUT = 5.0  # start() gives up (BusError) when the broker cannot be reached by then
READY_TIMEOUT = 10  # ready() gives up (TimeoutError) when the broker stays away this long
CLOSE_TIMEOUT = 2.0  # close() sends what is queued for at most this long
ASK_TIMEOUT = 2.0  # a node that does not send its presence snapshot by then is asked again


def _nobody(envelope: Envelope) -> None:
    raise RuntimeError("publish before attach: the bus has no receiver")


def _closed(envelope: Envelope) -> None:
    pass


# What the writer hands to the client, in order: a frame (subject, bytes, the id it depends
# on), a subscription to bring in line with what is wanted, or a future to resolve (ready()'s
# barrier).
_Op = tuple[str, bytes, int] | ToRoom | ToUser | asyncio.Future[None]


class NatsBus(Bus):
    def __init__(
        self, url: str, *, prefix: str = "chinwag", start_timeout: float = START_TIMEOUT
    ) -> None:
        self.url = url
        self.start_timeout = start_timeout
        self.prefix = prefix
        self._all = f"{prefix}.all"
        self._receiver: Receiver = _nobody
        self._rooms: dict[str, None] = {}
        self._users: dict[str, None] = {}
        self._live: dict[str, NatsSubscription] = {}  # subject -> the broker's subscription
        self._ops: deque[_Op] = deque()
        self._committed: int | None = None  # None: no store tells us, frames go at once
        self._wake = asyncio.Event()
        self._client: Client | None = None
        self._writer: asyncio.Task[None] | None = None
        self.lost = 0  # frames the client refused (disconnected with a full buffer, too big)
        self.bad = 0  # frames received that could not be read
        self._erred = False  # an error logged since the last (re)connection
        # Told after a reconnection: frames published meanwhile are lost, and a server
        # whose store numbers in commit order reads them back (server/sequencer.py).
        self.on_reconnect: Callable[[], None] | None = None
        # Shared presence: `<prefix>.presence` (records), `<prefix>.presence.ask.<node>`.
        self._presence_subject = f"{prefix}.presence"
        self._node = ""
        self._presence: PresenceReceiver | None = None
        self._snapshot: PresenceSnapshot | None = None
        self._presence_subs: list[NatsSubscription] = []
        self._presence_ops: deque[bytes] = deque()
        self._presence_wake = asyncio.Event()
        self._presence_writer: asyncio.Task[None] | None = None
        self._presence_starting: asyncio.Task[None] | None = None  # attached after start
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ subjects

    def _subject(self, audience: Subscription) -> str:
        kind = "r" if type(audience) is ToRoom else "u"
        return f"{self.prefix}.{kind}.{audience.key.encode().hex() or '-'}"

    # ------------------------------------------------------------------ the Bus

    def attach(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def subscribe(self, audience: Subscription) -> None:
        wanted = self._rooms if type(audience) is ToRoom else self._users
        if audience.key not in wanted:
            wanted[audience.key] = None
            self._queue(audience)

    def unsubscribe(self, audience: Subscription) -> None:
        wanted = self._rooms if type(audience) is ToRoom else self._users
        if audience.key in wanted:
            del wanted[audience.key]
            self._queue(audience)

    def wants(self, audience: Audience) -> bool:
        kind = type(audience)
        if kind is ToRoom:
            return audience.key in self._rooms  # type: ignore[union-attr]
        if kind is ToUser:
            return audience.key in self._users  # type: ignore[union-attr]
        if kind is ToRooms:
            rooms = self._rooms
            return any(key in rooms for key in audience.keys)  # type: ignore[union-attr]
        return False

    def publish(self, envelope: Envelope) -> None:
        audience = envelope.audience
        kind = type(audience)
        if kind is ToSession:
            self._receiver(envelope)
            return
        if self.wants(audience):
            self._receiver(envelope)
        if self._writer is None:
            return  # closed (or never started): nobody else can be reached
        # Several rooms: one frame on the subject every node hears (see the docstring).
        subject = self._all if kind is ToRooms else self._subject(audience)  # type: ignore[arg-type]
        self._queue((subject, encode_frame(envelope), envelope.id))

    @property
    def connected(self) -> bool:
        """Connected to the broker now (shared presence judges no node while it is not)."""
        client = self._client
        return client is not None and client.is_connected

    # ------------------------------------------------------------------ presence

    def attach_presence(
        self, node: str, receiver: PresenceReceiver, snapshot: PresenceSnapshot
    ) -> None:
        self._node = node
        self._presence = receiver
        self._snapshot = snapshot
        if self._client is not None and self._presence_writer is None:  # after start
            self._presence_starting = asyncio.get_running_loop().create_task(
                self._start_presence(self._client)
            )

    def detach_presence(self) -> None:
        self._presence = self._snapshot = None
        subscriptions, self._presence_subs = self._presence_subs, []
        if subscriptions:
            task = asyncio.get_running_loop().create_task(self._unsubscribe(subscriptions))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _unsubscribe(self, subscriptions: list[NatsSubscription]) -> None:
        for subscription in subscriptions:
            try:
                await subscription.unsubscribe()
            except Exception as exc:  # closed meanwhile: nothing more arrives anyway
                log.info("bus: presence unsubscribe: %s", exc)

    def publish_presence(self, record: bytes) -> None:
        if self._presence_writer is not None and self._presence is not None:
            self._presence_ops.append(record)
            self._presence_wake.set()

    async def ask_presence(self, node: str) -> bytes | None:
        client = self._client
        if client is None:
            return None
        try:
            answer = await client.request(
                f"{self._presence_subject}.ask.{node}", b"", timeout=ASK_TIMEOUT
            )
        except Exception as exc:  # no such node (any more), or the broker is away
            log.info("bus: node %s gave no presence snapshot: %s", node, exc)
            return None
        return bytes(answer.data)

    async def _start_presence(self, client: Client) -> None:
        if self._presence is None or self._presence_writer is not None:
            return
        subject = self._presence_subject
        self._presence_subs = [
            await client.subscribe(subject, cb=self._on_presence),
            await client.subscribe(f"{subject}.ask.{self._node}", cb=self._on_ask),
        ]
        self._presence_writer = asyncio.create_task(
            self._write_presence(client), name="nats presence writer"
        )

    async def _write_presence(self, client: Client) -> None:
        """Records in order, apart from the envelopes: a frame waiting for the store must
        not hold the heartbeats up (other nodes would take this one for dead)."""
        ops = self._presence_ops
        while True:
            await self._presence_wake.wait()
            self._presence_wake.clear()
            while ops:
                try:
                    await client.publish(self._presence_subject, ops.popleft())
                except Exception as exc:  # away with a full buffer: a later heartbeat heals
                    self._lose(exc)

    async def _on_presence(self, message: Msg) -> None:
        receiver = self._presence
        if receiver is not None:
            receiver(message.data)

    async def _on_ask(self, message: Msg) -> None:
        snapshot = self._snapshot
        if snapshot is not None and message.reply:
            try:
                await message.respond(snapshot())
            except Exception as exc:
                log.warning("bus: presence snapshot not sent: %s", exc)

    def durable(self, committed_id: int) -> None:
        self._committed = committed_id
        self._wake.set()

    def forget(self, ids: Collection[int]) -> None:
        ops = self._ops
        for _ in range(len(ops)):  # in place: the writer holds this deque
            op = ops.popleft()
            if not (type(op) is tuple and op[2] in ids):
                ops.append(op)
        self._wake.set()

    async def ready(self) -> None:
        starting, self._presence_starting = self._presence_starting, None
        if starting is not None:
            await starting
        if self._writer is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue(done)
        async with asyncio.timeout(READY_TIMEOUT):
            await done

    async def start(self) -> None:
        try:
            async with asyncio.timeout(self.start_timeout):
                self._client = await self._connect()
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            why = str(exc) or "timed out"
            raise BusError(f"cannot reach the bus at {self.url}: {why}") from None
        await self._client.subscribe(self._all, cb=self._on_frame)
        await self._start_presence(self._client)
        self._writer = asyncio.create_task(self._write(self._client), name="nats bus writer")
        await self.ready()

    async def _connect(self) -> Client:
        return await nats.connect(
            self.url,
            name="chinwag",
            no_echo=True,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=RECONNECT_WAIT,
            connect_timeout=CONNECT_TIMEOUT,
            error_cb=self._error,
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
        )

    async def close(self) -> None:
        self._receiver = _closed
        writer, self._writer = self._writer, None
        client, self._client = self._client, None
        if writer is not None:
            if self._ops:  # goodbyes and the last frames, if the broker takes them soon
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._queue(done)
                try:
                    async with asyncio.timeout(CLOSE_TIMEOUT):
                        await done
                except TimeoutError:
                    log.warning("bus: closed with %d frames unsent", len(self._ops))
            writer.cancel()
        presence, self._presence_writer = self._presence_writer, None
        if presence is not None:
            if self._presence_ops and client is not None:  # a goodbye to the other nodes
                with contextlib.suppress(Exception):
                    while self._presence_ops:
                        await client.publish(self._presence_subject, self._presence_ops.popleft())
            presence.cancel()
        if client is not None:
            await client.close()

    # ------------------------------------------------------------------ the writer

    def _queue(self, op: _Op) -> None:
        self._ops.append(op)
        self._wake.set()

    async def _write(self, client: Client) -> None:
        """Hand what was queued to the client, in order (its own task flushes the socket).

        A frame whose message is not durable yet holds everything behind it (one
        publisher's order) until `durable` or `forget` wakes the writer.
        """
        ops = self._ops
        while True:
            await self._wake.wait()
            self._wake.clear()
            while ops:
                op = ops[0]
                if type(op) is tuple:
                    committed = self._committed
                    if committed is not None and op[2] > committed:
                        break  # woken again by durable() or forget()
                    ops.popleft()
                    try:
                        await client.publish(op[0], op[1])
                    except Exception as exc:  # a full buffer while away, a frame too big
                        self._lose(exc)
                    continue
                ops.popleft()
                if isinstance(op, asyncio.Future):
                    await self._barrier(client, op)
                else:
                    await self._sync(client, op)  # type: ignore[arg-type]

    async def _sync(self, client: Client, audience: Subscription) -> None:
        """Make the broker's subscription match what is wanted now (a later op may undo)."""
        subject = self._subject(audience)
        wanted = (self._rooms if type(audience) is ToRoom else self._users).__contains__
        live = self._live.get(subject)
        try:
            if wanted(audience.key) and live is None:
                self._live[subject] = await client.subscribe(subject, cb=self._on_frame)
            elif not wanted(audience.key) and live is not None:
                del self._live[subject]
                await live.unsubscribe()
        except Exception as exc:  # the client keeps its subscriptions across reconnects
            log.warning("bus: subscription to %s: %s", subject, exc)

    async def _barrier(self, client: Client, done: asyncio.Future[None]) -> None:
        """A ping answered by the server: everything sent before it has been processed."""
        try:
            await client.flush(timeout=READY_TIMEOUT)
        except Exception as exc:  # away for too long: the waiter learns it
            if not done.done():
                done.set_exception(TimeoutError(f"the broker did not answer: {exc}"))
            return
        if not done.done():
            done.set_result(None)

    def _lose(self, exc: Exception) -> None:
        if not self.lost:
            log.warning("bus: a frame was lost (%s); counting the rest in NatsBus.lost", exc)
        self.lost += 1

    # ------------------------------------------------------------------ receiving

    async def _on_frame(self, message: Msg) -> None:
        try:
            envelope = decode_frame(message.data)
        except BadFrame as exc:
            self.bad += 1
            log.warning("bus: unreadable frame on %s: %s", message.subject, exc)
            return
        if self.wants(envelope.audience):  # not once unsubscribed, whatever is in flight
            self._receiver(envelope)

    async def _error(self, exc: Exception) -> None:
        if not self._erred:  # every failed attempt calls this: once per outage is enough
            self._erred = True
            log.warning("bus: %s: %s", type(exc).__name__, exc)

    async def _disconnected(self) -> None:
        if self._writer is not None:
            log.warning("bus: disconnected from %s; reconnecting", self.url)

    async def _reconnected(self) -> None:
        self._erred = False
        log.warning("bus: reconnected to %s", self.url)
        if self.on_reconnect is not None:
            self.on_reconnect()
