"""ChatClient: the asyncio client library every chinwag front end (line, TUI, web) builds on.

It owns one connection at a time and hides what a front end should not have to think about:
answering the server's keep-alive pings, matching `ping()` replies by token, remembering the
highest message id seen (`last_id`), dropping messages seen twice, and reconnecting with
backoff, rejoining with `since=last_id` and the rooms it was in, so nothing said meanwhile is
missed.

Usage:

    client = ChatClient()
    welcome = await client.connect("127.0.0.1", 12345, "alice")   # a guest
    await client.chat("hello")
    async for event in client:          # server notices and status events, in order
        ...                             # ends with a `Closed` event

Accounts: `connect(..., password=...)` or `connect(..., token=...)` signs in; a connected
guest may `register(name, password)` or `login(name, password)` and becomes the account in
place. A join refused with `name_registered` (`JoinRefused.name_registered`) means the name
belongs to an account: ask for its password and connect again with it. After a sign-in the
client holds the account's login token (`token`, from the welcome) and reconnects with it;
it never keeps a password.

Commands are fire-and-forget: their replies (a user list, a history page, an error) arrive
in the event stream in the order the server sends them. The protocol has no request ids
(except the ping token), so waiting for "the" reply would be guesswork once errors and
broadcasts interleave. The calls that return their answer instead are `ping()` and the
account operations (`register`, `login`, `change_password`): each is fenced by pings (the
server answers a connection's commands in order), so what arrives between its command and
the pong that follows is its answer; that answer is not put in the event stream.

Several servers (`connect(host, port, name, failover=[(host2, port2), ...])`: nodes of one
chat, sharing its store and bus): a connect that fails tries the next address, and a dropped
connection reconnects to the next one in turn (round robin, with the same backoff), rejoining
with `since`, so a dead node costs a reconnect, not a message.

Over TLS (`ChatClient(tls=TlsOptions(...))`), every connection, reconnects included, is
checked by chinwag.client.trust before anything is sent, and must show the certificate the
first one to that address showed unless a CA vouches for it.

Concurrency: all state changes happen on the event loop's thread, inside `_handle` (called by
the one pump task) or in `connect`/`close`; `_link` is None whenever no connection is usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from chinwag.client.probe import PROBE, describe
from chinwag.client.state import ChatState, key
from chinwag.client.status import (
    ClientEvent,
    Closed,
    Disconnected,
    OlderHistory,
    Reconnected,
    Reconnecting,
    ReconnectPolicy,
)
from chinwag.client.trust import CertificateChanged, TlsOptions, open_tls
from chinwag.errors import ClientError, ConnectionClosed, WrongProtocol
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.protocol.native_client import (
    CLIENT_MAX_LINE,
    NativeClientCodec,
    ServerEvent,
    UnreadableNotice,
)

READ_CHUNK = 1 << 16
ACCOUNT_TIMEOUT = 30.0  # password hashing is slow on purpose, and logins may queue for it
_ANSWERED = "account:answered"  # the token of the ping that follows an account operation
_PAGED = "page:"  # + a conversation's key: the ping that follows a request for older messages
# A goodbye that ends a session for good: another login took it, or an admin ended it.
SIGNED_OUT = "Signed out"
# Refusals of a rejoin that trying again cannot change.
_FINAL = frozenset(
    {
        ErrorCode.INVALID_NAME,
        ErrorCode.NAME_REGISTERED,
        ErrorCode.AUTH_FAILED,
        ErrorCode.LOGIN_REQUIRED,
        ErrorCode.FORBIDDEN,
    }
)


class Refused(ClientError):
    """The server answered a command with an error: `code` (an ErrorCode value), `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JoinRefused(Refused):
    """The server refused a join, a login or a registration (name taken, wrong password...)."""

    @property
    def name_registered(self) -> bool:
        """The name belongs to an account: ask for its password and join with it."""
        return self.code == ErrorCode.NAME_REGISTERED


@dataclass(slots=True)
class _Link:
    """One open connection: its streams and its codec (a fresh codec per connection)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    codec: NativeClientCodec

    def send(self, command: ev.Command) -> None:
        self.codec.send(command)
        self.writer.write(self.codec.data_to_send())

    def close(self) -> None:
        self.writer.close()


class ChatClient:
    """A chinwag client connection that survives server restarts; see the module docstring."""

    def __init__(
        self,
        *,
        reconnect: ReconnectPolicy | None = None,
        max_line: int = CLIENT_MAX_LINE,
        remember_ids: int = 10_000,
        rng: random.Random | None = None,
        tls: TlsOptions | None = None,
        greeting_wait: float = 0.0,
    ) -> None:
        self.policy = reconnect or ReconnectPolicy()
        # Listen this long (at least) before sending anything: a port that speaks first is
        # not native (the plain dialect greets, and would say our first line to the room).
        self.greeting_wait = greeting_wait
        self.tls = tls
        self.tls_fingerprint: str | None = None  # the server's certificate, once connected
        self.max_line = max_line
        self.host = ""  # the server connected to (or being tried)
        self.port = 0
        self.servers: list[tuple[str, int]] = []  # every address given, tried in turn
        self._pins: dict[tuple[str, int], str] = {}  # TLS: each address's first certificate
        self.username: str | None = None
        self.account: str | None = None  # the account signed in to; None for a guest
        self.token: str | None = None  # the account's login token, for reconnecting
        # A guest's resume secret (its welcome's): a reconnect takes the name back with it,
        # even while the server (or another node) still holds the dead connection's session.
        self.resume: str | None = None
        self.last_id = 0  # highest id of a chat/private/topic seen; rejoin asks for newer
        self.keepalives_answered = 0
        self.duplicates_dropped = 0
        self._rooms: dict[str, str] = {}  # casefolded name -> name as the server spells it
        self._link: _Link | None = None
        self._task: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self._pings: dict[str, asyncio.Future[None]] = {}
        self._ping_ids = itertools.count(1)
        self._seen: deque[int] = deque(maxlen=max(1, remember_ids))
        self._seen_set: set[int] = set()
        self._stop = asyncio.Event()  # set by quit()/close(): no more reconnecting
        self._finished = False
        self._rng = rng or random.Random()
        self._asking = asyncio.Lock()  # one account operation at a time
        self._answer: asyncio.Future[ev.Welcome | ev.Done | ev.Error | None] | None = None
        self._ended = ""  # a goodbye that ends the session for good (signed out)
        self.state = ChatState()  # conversations, members, unread counts (client.state)
        self._paging: dict[str, int | None] = {}  # conversation -> `before` of its request

    # ------------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def primary(self) -> tuple[str, int]:
        """The first address given: what saved logins are kept under, whichever server
        the client is on now."""
        return self.servers[0] if self.servers else (self.host, self.port)

    @property
    def guest(self) -> bool:
        """True unless signed in to an account (a guest proves nothing about its name)."""
        return self.account is None

    @property
    def rooms(self) -> tuple[str, ...]:
        """The rooms this user is in, as the server spells them."""
        return tuple(self._rooms.values())

    def in_room(self, room: str) -> bool:
        return room.lstrip("#").casefold() in self._rooms

    # ------------------------------------------------------------------ connecting

    async def connect(
        self,
        host: str,
        port: int,
        username: str,
        *,
        password: str | None = None,
        token: str | None = None,
        failover: Sequence[tuple[str, int]] = (),
    ) -> ev.Welcome:
        """Open the connection and join: as a guest, or signed in to the account `username`
        with its password or a login token. Raises JoinRefused (`name_registered`: the name
        needs its password; `auth_failed`: wrong password, or a token no longer valid),
        ClientError or OSError. The password is sent, not kept.

        `failover`: more addresses of the same chat. When `host:port` cannot be reached
        the next is tried (a server that answers, even with a refusal, ends the search),
        and later reconnects go round them all."""
        if self._task is not None:
            raise ClientError("this client is already connected; make a new one")
        self.servers = list(dict.fromkeys([(host, port), *failover]))
        join = ev.Join(username, password=password, token=token)
        del password
        failures: list[str] = []
        for address in self.servers:
            self.host, self.port = address
            try:
                link, welcome, pending = await self._open(join)
                break
            except (OSError, TimeoutError, ConnectionClosed) as exc:
                if len(self.servers) == 1:
                    raise
                failures.append(f"{self.host}:{self.port}: {exc or type(exc).__name__}")
        else:
            raise ConnectionClosed("no server could be reached (" + "; ".join(failures) + ")")
        del join
        self._adopt(link, welcome, token)
        self.last_id = max(self.last_id, welcome.last_id)
        for event in pending:
            await self._handle(event)
        self._task = asyncio.create_task(self._pump(link), name=f"chinwag-client-{username}")
        return welcome

    async def _open(self, join: ev.Join) -> tuple[_Link, ev.Welcome, list[ServerEvent]]:
        """Connect and join; the welcome plus whatever arrived right behind it."""
        timeout = self.policy.connect_timeout
        started = time.monotonic()
        async with asyncio.timeout(timeout):
            reader, writer = await self._open_stream()
        link = _Link(reader, writer, NativeClientCodec(max_line=self.max_line))
        try:
            async with asyncio.timeout(timeout):
                await self._probe(link, time.monotonic() - started)
                link.send(join)
                await writer.drain()
                return link, *await self._await_welcome(link)
        except BaseException:
            link.close()
            raise

    async def _probe(self, link: _Link, connecting: float) -> None:
        """Make sure the other end is a native port before the join goes out (see
        chinwag.client.probe): listen first if asked, then a ping must come back a pong."""
        if self.greeting_wait > 0 and self.tls is None:
            # The greeting of a port that speaks first takes about one round trip more
            # than the connection did: wait for that, however far the server is.
            wait = min(1.0, max(self.greeting_wait, 3 * connecting))
            try:
                async with asyncio.timeout(wait):
                    data: bytes | None = await link.reader.read(READ_CHUNK)
            except TimeoutError:
                data = None
            if data is not None:
                self._unasked(link, data)
        link.send(ev.Ping(PROBE))
        await link.writer.drain()
        while True:
            data = await link.reader.read(READ_CHUNK)
            if self._unasked(link, data):
                return

    def _unasked(self, link: _Link, data: bytes) -> bool:
        """Read what came before the join: True at the probe's pong; raises WrongProtocol
        for a line that is not native, JoinRefused for an error (the server is full)."""
        if data:
            link.codec.receive_data(data)
        else:
            link.codec.receive_eof()
        for event in link.codec.events_received():
            match event:
                case ev.PongReply(token=token) if token == PROBE:
                    return True
                case UnreadableNotice(line=line):
                    where = f"{self.host}:{self.port}"
                    raise WrongProtocol(f"{where} is not a chinwag native port: {describe(line)}")
                case ev.Error(code=code, message=message):
                    raise JoinRefused(str(code), message)
                case ev.KeepAlive():
                    link.send(ev.Pong())
        if not data:
            raise ConnectionClosed("the server closed the connection before answering")
        return False

    async def _open_stream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """TCP, or TLS trusted as chinwag.client.trust says (the first certificate is kept)."""
        if self.tls is None:
            return await asyncio.open_connection(self.host, self.port, limit=READ_CHUNK)
        address = (self.host, self.port)
        reader, writer, self.tls_fingerprint = await open_tls(
            self.host, self.port, self.tls, limit=READ_CHUNK, pinned=self._pins.get(address)
        )
        self._pins[address] = self.tls_fingerprint
        return reader, writer

    async def _await_welcome(self, link: _Link) -> tuple[ev.Welcome, list[ServerEvent]]:
        welcome: ev.Welcome | None = None
        pending: list[ServerEvent] = []
        while welcome is None:
            data = await link.reader.read(READ_CHUNK)
            if data:
                link.codec.receive_data(data)
            else:
                link.codec.receive_eof()
            for event in link.codec.events_received():
                if welcome is not None:
                    pending.append(event)
                elif isinstance(event, ev.Welcome):
                    welcome = event
                elif isinstance(event, ev.Error):
                    raise JoinRefused(str(event.code), event.message)
                elif isinstance(event, ev.KeepAlive):
                    link.send(ev.Pong())
                elif not isinstance(event, ev.Goodbye):
                    pending.append(event)
            if not data and welcome is None:
                raise ConnectionClosed("the server closed the connection before welcoming us")
        return welcome, pending

    def _adopt(self, link: _Link, welcome: ev.Welcome, token: str | None) -> None:
        self._link = link
        self._welcomed(welcome, token)

    def _welcomed(self, welcome: ev.Welcome, token: str | None = None) -> None:
        """Who we are now: a welcome comes on joining and on signing in as a joined guest.
        `token` is the one the join signed in with (a token login's welcome has none)."""
        self.username = welcome.username or self.username
        self.state.welcome(welcome)
        self._rooms = {r.casefold(): r for r in welcome.rooms or (DEFAULT_ROOM,)}
        if welcome.account is None:
            self.account = self.token = None
            self.resume = welcome.resume
        else:
            self.resume = None
            self.account = welcome.account
            self.token = welcome.token or token

    # ------------------------------------------------------------------ commands

    async def _send(self, command: ev.Command) -> None:
        link = self._link
        if link is None:
            raise ConnectionClosed("not connected to the server")
        try:
            link.send(command)
            await link.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise ConnectionClosed(f"could not send: {exc}") from exc

    async def chat(self, message: str, room: str = DEFAULT_ROOM) -> None:
        # Noted before sending: the echo may be read while the send drains.
        pending = self.state.send(room, message)
        try:
            await self._send(ev.Chat(message, room))
        except ConnectionClosed:
            self.state.sending.remove(pending)
            raise

    async def send(self, command: ev.Command) -> None:
        """Send a command made elsewhere (client.commands parses typed ones); its answer
        comes in the event stream."""
        await self._send(command)

    async def moderate(self, command: ev.Command) -> None:
        """Send a moderation command (client.moderation.parse makes them from text); the
        answer is a Moderated, Deleted, AuditLog or Error event."""
        await self._send(command)

    async def private(self, target: str, message: str) -> None:
        pending = self.state.send(target, message, private=True)
        try:
            await self._send(ev.Private(target, message))
        except ConnectionClosed:
            self.state.sending.remove(pending)
            raise

    async def older(self, conversation: str, limit: int = 50) -> bool:
        """Ask for the page of messages before the oldest the state holds of `conversation`
        (a key of client.state); it arrives as an OlderHistory event, not a HistoryPage.
        False when there is nothing to ask (a page is on its way, or none is older).

        The page is told from a /history answer by its conversation and its ids (all below
        `before`); the ping after the request tells that no page is coming (an error was)."""
        found = self.state.conversations.get(conversation)
        if found is None or found.paging or not found.more_before:
            return False
        if found.private and self.guest:  # a guest's private messages are not kept
            return False
        before = found.oldest
        room, name = (DEFAULT_ROOM, found.name) if found.private else (found.name, None)
        await self._send(ev.History(room, before, None, limit, with_=name))
        found.paging = True
        self._paging[conversation] = before
        await self._send(ev.Ping(_PAGED + conversation))
        return True

    async def list_users(self, room: str | None = None) -> None:
        await self._send(ev.ListUsers(room))

    async def list_rooms(self, after: str | None = None) -> None:
        """A page of rooms (RoomList); its `next` names where the next page starts."""
        await self._send(ev.ListRooms(after))

    async def join_room(self, room: str) -> None:
        await self._send(ev.JoinRoom(room))

    async def leave_room(self, room: str) -> None:
        await self._send(ev.LeaveRoom(room))

    async def set_topic(self, room: str, topic: str) -> None:
        await self._send(ev.SetTopic(room, topic))

    async def history(
        self, room: str, *, before: int | None = None, after: int | None = None, limit: int = 50
    ) -> None:
        await self._send(ev.History(room, before, after, limit))

    async def search(self, room: str, query: str, limit: int = 50) -> None:
        await self._send(ev.Search(room, query, limit))

    async def history_with(
        self, name: str, *, before: int | None = None, after: int | None = None, limit: int = 50
    ) -> None:
        """A page of this account's private conversation with `name` (a HistoryPage whose
        `with_` is set); accounts only."""
        await self._send(ev.History(DEFAULT_ROOM, before, after, limit, with_=name))

    async def rename(self, username: str) -> None:
        await self._send(ev.Rename(username))

    # ------------------------------------------------------------------ accounts

    async def register(
        self, username: str, password: str, timeout: float = ACCOUNT_TIMEOUT
    ) -> ev.Welcome:
        """Make the account `username` and become it (this guest takes its name); its new
        welcome, with a login token. Raises JoinRefused (`name_registered`, `name_taken`,
        `invalid_password`, `registration_closed`...)."""
        answer = await self._ask(ev.Register(username, password), timeout)
        if not isinstance(answer, ev.Welcome):
            raise JoinRefused("", f"unexpected answer to register: {type(answer).__name__}")
        return answer

    async def login(
        self, username: str, password: str, timeout: float = ACCOUNT_TIMEOUT
    ) -> ev.Welcome:
        """Sign this connected guest in to the account `username`; its new welcome, with a
        login token. Raises JoinRefused (`auth_failed`: wrong name or password;
        `auth_throttled`: too many failures, the message says how long to wait)."""
        answer = await self._ask(ev.Join(username, password=password), timeout)
        if not isinstance(answer, ev.Welcome):
            raise JoinRefused("", f"unexpected answer to login: {type(answer).__name__}")
        return answer

    async def change_password(
        self, old: str, new: str, timeout: float = ACCOUNT_TIMEOUT
    ) -> ev.Done:
        """Change the account's password; the server's confirmation. Other login tokens of
        the account stop working, this client's goes on. Raises Refused (`auth_failed`:
        the old password is wrong; `invalid_password`; `forbidden` for a guest)."""
        answer = await self._ask(ev.ChangePassword(old, new), timeout)
        if not isinstance(answer, ev.Done):
            raise Refused("", f"unexpected answer to password: {type(answer).__name__}")
        return answer

    async def logout(self, timeout: float = 5.0) -> None:
        """Revoke this client's login token on the server and leave (the server closes the
        connection); never reconnects after."""
        self.token = None
        await self._leave(ev.Logout(), timeout)

    async def _ask(self, command: ev.Command, timeout: float) -> ev.Welcome | ev.Done:
        """Send an account command; its answer (a Welcome or Done), or raise its error.

        The server answers a connection's commands in order, so a ping before the command
        makes sure nothing owed earlier is taken for the answer, and the ping sent after it
        is answered only once the answer is out."""
        refused = JoinRefused if isinstance(command, ev.Join | ev.Register) else Refused
        async with self._asking:
            await self.ping(timeout)
            answer: asyncio.Future[ev.Welcome | ev.Done | ev.Error | None]
            answer = asyncio.get_running_loop().create_future()
            self._answer = answer
            try:
                await self._send(command)
                del command  # it may hold a password
                await self._send(ev.Ping(_ANSWERED))
                async with asyncio.timeout(timeout):
                    result = await answer
            finally:
                self._answer = None
        if isinstance(result, ev.Error):
            raise refused(str(result.code), result.message)
        if result is None:
            raise Refused("", "the server did not answer")
        return result

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time in seconds (perf_counter: uvloop's loop.time() ticks in whole ms)."""
        loop = asyncio.get_running_loop()
        token = f"rtt-{next(self._ping_ids)}"
        answered: asyncio.Future[None] = loop.create_future()
        self._pings[token] = answered
        try:
            start = time.perf_counter()
            await self._send(ev.Ping(token))
            async with asyncio.timeout(timeout):
                await answered
            return time.perf_counter() - start
        finally:
            self._pings.pop(token, None)

    async def quit(self, message: str | None = None, timeout: float = 5.0) -> None:
        """Say goodbye and wait (bounded) for the server to close; never reconnects after."""
        await self._leave(ev.Quit(message), timeout)

    async def _leave(self, command: ev.Quit | ev.Logout, timeout: float) -> None:
        self._stop.set()
        if self._link is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._send(command)
            if self._task is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._task), timeout)
        await self.close()

    async def close(self) -> None:
        """Drop the connection now, stop reconnecting, end the event stream."""
        self._stop.set()
        if self._link is not None:
            self._link.close()
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), 2.0)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task is None and not self._finished:
            self._finish(Closed("closed", by_user=True))

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ the event stream

    async def receive(self) -> ClientEvent:
        """The next event; raises ConnectionClosed once the final `Closed` was handed out."""
        if self._finished and self._events.empty():
            raise ConnectionClosed("the client is closed")
        return await self._events.get()

    async def __aiter__(self) -> AsyncIterator[ClientEvent]:
        while not (self._finished and self._events.empty()):
            event = await self._events.get()
            yield event
            if isinstance(event, Closed):
                return

    # ------------------------------------------------------------------ the pump

    async def _pump(self, link: _Link | None) -> None:
        """Read the current link; when it drops, reconnect; end with one Closed event."""
        closed = Closed("closed", by_user=True)
        try:
            while link is not None:
                reason = await self._read(link)
                self._link = None
                link.close()
                self._fail_pings(reason)
                if self._stop.is_set():
                    break
                if self._ended:  # signed out: reconnecting would sign the other one out
                    closed = Closed(self._ended, by_user=False, code="signed_out")
                    break
                retry = self.policy.allows(1)
                await self._emit(Disconnected(reason, reconnecting=retry))
                if not retry:
                    closed = Closed(reason, by_user=False)
                    break
                link, closed = await self._reconnect(reason)
        finally:
            if self._link is not None:  # cancelled mid-read by close()
                self._link.close()
                self._link = None
            self._finish(closed)

    async def _read(self, link: _Link) -> str:
        """Pump one connection until it ends; the reason it ended."""
        goodbye = ""
        while True:
            try:
                data = await link.reader.read(READ_CHUNK)
            except (ConnectionError, OSError) as exc:
                return f"connection error: {exc}"
            if data:
                link.codec.receive_data(data)
            else:
                link.codec.receive_eof()
            for event in link.codec.events_received():
                if isinstance(event, ev.Goodbye):
                    goodbye = event.message
                await self._handle(event)
            if not data:
                return goodbye or "the server closed the connection"

    async def _reconnect(self, reason: str) -> tuple[_Link | None, Closed]:
        """Retry with backoff until joined again (a link) or out of attempts (None)."""
        attempt = 0
        while self.policy.allows(attempt + 1):
            attempt += 1
            delay = self.policy.delay(attempt, self._rng)
            self._next_server()
            where = f"{self.host}:{self.port}" if len(self.servers) > 1 else ""
            await self._emit(
                Reconnecting(attempt, self.policy.max_attempts, delay, reason, server=where)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                return None, Closed("closed", by_user=True)
            since = self.last_id
            assert self.username is not None
            token = self.token  # an account signs in again with its token
            try:
                # A guest keeps no rooms on the server: ask for ours back by name.
                rooms = tuple(r for r in self.rooms if r.casefold() != DEFAULT_ROOM)
                resume = None if token else self.resume
                join = ev.Join(self.username, since, rooms, token=token, resume=resume)
                link, welcome, pending = await self._open(join)
            except JoinRefused as exc:
                if exc.code in _FINAL:
                    if exc.code == ErrorCode.AUTH_FAILED:  # the token expired or was revoked
                        self.token = self.account = None
                    reason = f"cannot rejoin: {exc.message}"
                    return None, Closed(reason, by_user=False, code=exc.code)
                reason = exc.message  # e.g. our old session is not gone yet: try again
                continue
            except CertificateChanged as exc:  # not a server to retry
                return None, Closed(str(exc), by_user=False)
            except (OSError, ClientError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
                continue
            if self._stop.is_set():  # close() was called while we were connecting
                link.close()
                return None, Closed("closed", by_user=True)
            had = {room.casefold() for room in self.rooms}
            self._adopt(link, welcome, token)
            self.state.reconnected(since)
            await self._emit(Reconnected(welcome, since, attempt))
            for event in pending:
                # The rooms we were in come back: kept, not shown again as if joined anew.
                again = isinstance(event, ev.RoomJoined) and event.room.casefold() in had
                await self._handle(event, quiet=again)
            return link, Closed("closed", by_user=True)
        return None, Closed(f"gave up after {attempt} attempts: {reason}", by_user=False)

    def _next_server(self) -> None:
        """Move to the address after the current one (round robin; alone, the same)."""
        current = (self.host, self.port)
        if len(self.servers) > 1 and current in self.servers:
            following = (self.servers.index(current) + 1) % len(self.servers)
            self.host, self.port = self.servers[following]

    def _finish(self, closed: Closed) -> None:
        if self._finished:
            return
        self._finished = True
        self._fail_pings(closed.reason)
        self._events.put_nowait(closed)

    def _fail_pings(self, reason: str) -> None:
        """A ping (or an account operation) waiting on a lost connection will never be
        answered: fail it now."""
        waiting: list[asyncio.Future[Any]] = [*self._pings.values()]
        if self._answer is not None:
            waiting.append(self._answer)
        for answered in waiting:
            if not answered.done():
                answered.set_exception(ConnectionClosed(reason))

    def _answers(self, answer: ev.Welcome | ev.Done | ev.Error | None) -> bool:
        """Hand an event to the account operation waiting for its answer, if there is one."""
        waiting = self._answer
        if waiting is None or waiting.done():
            return False
        waiting.set_result(answer)
        return True

    async def _emit(self, event: ClientEvent) -> None:
        await self._events.put(event)

    async def _handle(self, event: ServerEvent, *, quiet: bool = False) -> None:
        """Update state from one server event; pass on what a front end should see
        (`quiet`: the state only)."""
        match event:
            case ev.KeepAlive():
                if self._link is not None:
                    self._link.send(ev.Pong())
                    self.keepalives_answered += 1
                return
            case ev.PongReply(token=str() as token) if token in self._pings:
                answered = self._pings.pop(token)
                if not answered.done():
                    answered.set_result(None)
                return
            case ev.PongReply(token=token) if token == _ANSWERED:
                self._answers(None)  # normally answered already: then a no-op
                return
            case ev.PongReply(token=str() as token) if token.startswith(_PAGED):
                conversation = token.removeprefix(_PAGED)
                if conversation in self._paging:  # no page came: an error did
                    del self._paging[conversation]
                    found = self.state.conversations.get(conversation)
                    if found is not None:
                        found.paging = False
                return
            case ev.HistoryPage() if self._paged(event):
                return
            case ev.Welcome():  # signed in as a joined guest (or a server's surprise)
                self._welcomed(event)
                if self._answers(event):
                    return
            case ev.Done() | ev.Error():
                if self._answers(event):
                    return
            case ev.Goodbye(message=message) if message.startswith(SIGNED_OUT):
                self._ended = message
            case ev.ChatMessage() | ev.PrivateMessage() | ev.TopicChanged() | ev.FileShared():
                if not self._first_sight(event.id):
                    self.duplicates_dropped += 1
                    return
                self.last_id = max(self.last_id, event.id)
            case ev.UserRenamed(old=old, new=new):
                if self.username is not None and old.casefold() == self.username.casefold():
                    self.username = new
            case ev.RoomJoined(room=room):
                self._rooms[room.casefold()] = room
            case ev.RoomLeft(room=room):
                self._rooms.pop(room.casefold(), None)
            case ev.Moderated(action="kick" | "ban", room=str() as room, username=str() as who):
                if self.username is not None and who.casefold() == self.username.casefold():
                    self._rooms.pop(room.casefold(), None)  # put out of the room
        if not isinstance(event, ev.Welcome):  # _welcomed told the state already
            self.state.apply(event)
        if not quiet:
            await self._emit(event)

    def _paged(self, page: ev.HistoryPage) -> bool:
        """Take a page that answers `older()`: merged into the state, told as OlderHistory."""
        conversation = key(page.with_, private=True) if page.with_ else key(page.room)
        if conversation not in self._paging:
            return False
        before = self._paging[conversation]
        if before is not None and any(m.id >= before for m in page.messages):
            return False  # newer than what we asked for: a /history answer
        del self._paging[conversation]
        self.state.older(conversation, page)
        self._events.put_nowait(OlderHistory(conversation, page.messages))
        return True

    def _first_sight(self, message_id: int) -> bool:
        """Remember ids (a bounded window); False for one already seen."""
        if message_id <= 0:
            return True  # a server that does not number messages: nothing to dedupe
        if message_id in self._seen_set:
            return False
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(message_id)
        self._seen_set.add(message_id)
        return True
