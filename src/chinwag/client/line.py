"""`chinwag chat`: the line client, a thin front end over ChatClient (client layer).

It asks for what the command line did not say (as seed 004's client does), then runs two
things side by side: the event stream, rendered by chinwag.client.format, and the input
loop, where a line is either a /command or a message to the current room.

Accounts: a name that belongs to an account is asked its password (hidden on a terminal);
`/register`, `/login`, `/logout` and `/password` work inside. The login token of a
successful sign-in is saved (chinwag.client.tokens) and used the next time, so the password
is asked once; a saved token the server no longer takes is dropped and the password asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from chinwag.certs import TLS_PORT
from chinwag.client import moderation
from chinwag.client.format import View, event_lines, signed_in_lines, welcome_lines
from chinwag.client.library import ChatClient, JoinRefused, Refused
from chinwag.client.paste import Pacer, PasteInput, chunks
from chinwag.client.status import Closed, ReconnectPolicy
from chinwag.client.terminal import LineInput, open_input
from chinwag.client.tokens import TokenStore
from chinwag.client.trust import TlsOptions
from chinwag.client.webfiles import ProgressBar, download, free_path, upload
from chinwag.errors import ClientError, ConnectionClosed, WrongProtocol
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.protocol.text import inert

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 12345
WEB_PORT = 8080  # the server's web front end (files), unless `chinwag chat --web URL`
HISTORY_DEFAULT = 20
# A person at the keyboard expects the chat to come back whenever the server does, as IRC
# clients do: retry until they quit, at most 30 s apart.
LINE_RECONNECT = ReconnectPolicy(max_attempts=None, max_delay=30.0)
# How long to listen before the first line goes out: a port that speaks first (the plain
# dialect's) would say that line to the room (chinwag.client.probe).
GREETING_WAIT = 0.2

HELP = """Commands:
  /help                  this list
  /quit, /exit, /q       leave the chat
  /ping                  measure the round-trip time to the server
  /users [#ROOM]         who is online (or in a room)
  /msg NAME text         a private message to NAME
  /rooms [AFTER]         rooms, with member counts and topics (a page at a time)
  /join ROOM             join (or create) a room and talk there
  /leave [ROOM]          leave a room (default: the current one)
  /switch ROOM           talk in another room you are in
  /topic [#ROOM] text    set the topic of the current room (or of #ROOM)
  /history [#ROOM] [N]   the last N messages of the current room or #ROOM (default 20)
  /search [#ROOM] words  search the history of the current room (or of #ROOM)
  /nick NAME             change your name (guests)
  /register [NAME]       make NAME (default: your name) an account; asks for a password
  /login [NAME]          sign in to your account (asks for its password)
  /logout                sign out, forget the saved login, and leave
  /password              change your account's password
  /upload PATH           share a file in the current room (accounts)
  /download ID [PATH]    save a shared file (ID as shown after it)
  /help moderation       the moderation commands (/kick, /ban, /mute, /mode, ...)
A room given before text needs its #: /topic Dev talk sets the current room's topic.
Anything else is sent to the current room; start it with // to send a leading /."""


class LineChat:
    """The commands and the rendering of one line-client session."""

    def __init__(
        self,
        client: ChatClient,
        terminal: LineInput,
        me: str,
        tokens: TokenStore | None = None,
        web: str | None = None,
    ) -> None:
        self.client = client
        self.web = web  # the server's web address (files); default: its host, port 8080
        self.files: dict[int, ev.FileShared] = {}  # shared files seen, for /download
        self.terminal = terminal
        self.tokens = tokens or TokenStore()
        self.view = View(me=me, room=DEFAULT_ROOM)
        self.pacer = Pacer()  # below the server's message rate: wait rather than be refused
        self._switch_to: str | None = None  # a room we asked to join; switch on its reply
        self._commands: dict[str, Callable[[str], Awaitable[None]]] = {
            "help": self._help,
            "ping": self._ping,
            "users": self._users,
            "msg": self._msg,
            "rooms": self._rooms,
            "join": self._join,
            "leave": self._leave,
            "switch": self._switch,
            "topic": self._topic,
            "history": self._history,
            "search": self._search,
            "nick": self._nick,
            "register": self._register,
            "login": self._login,
            "logout": self._logout,
            "password": self._password,
            "upload": self._upload,
            "download": self._download,
        }

    def prompt(self) -> str:
        return inert(f"{self.view.me}@{self.view.room}> ")  # both names come from the server

    def say(self, *lines: str) -> None:
        for line in lines:
            self.terminal.show(line)

    # ------------------------------------------------------------------ events

    async def show_events(self) -> Closed:
        """Render the event stream until it ends; its final Closed event."""
        async for event in self.client:
            self.say(*event_lines(event, self.view))
            self._follow(event)
            if isinstance(event, Closed):
                if event.code == ErrorCode.AUTH_FAILED:
                    self._forget_login()
                    self.say("* Your saved login has expired; run chinwag chat again to log in.")
                return event
        return Closed("closed", by_user=True)  # pragma: no cover - the stream ends with Closed

    def _follow(self, event: object) -> None:
        """Keep the view (our name, our room) in step with what the server says."""
        self.view.me = self.client.username or self.view.me
        if isinstance(event, ev.FileShared):
            self.files[event.id] = event
        elif isinstance(event, ev.RoomJoined) and self._switch_to == event.room.casefold():
            self._switch_to = None
            self.view.room = event.room
            self.say(f"* Now talking in #{event.room}")
        elif isinstance(event, ev.RoomLeft | ev.Moderated) and not self.client.in_room(
            self.view.room
        ):
            self.view.room = DEFAULT_ROOM
            self.say(f"* Now talking in #{DEFAULT_ROOM}")

    # ------------------------------------------------------------------ input

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False when the user asked to leave."""
        if not line.strip():
            return True
        try:
            if line.startswith("//"):
                await self._say(line[1:])
            elif line.startswith("/"):
                name, _, rest = line[1:].partition(" ")
                name = name.lower()
                if name in ("quit", "exit", "q"):
                    return False
                command = self._commands.get(name)
                if command is None and name in moderation.COMMANDS:
                    await self._moderate(name, rest.strip())
                elif command is None:
                    self.say(f"! Unknown command /{name}. Type /help for the list of commands.")
                else:
                    await command(rest.strip())
            else:
                await self._say(line)
        except ConnectionClosed:
            self.say("! Not connected right now; that was not sent.")
        except TimeoutError:  # an account operation the server did not answer
            self.say("! The server did not answer in time.")
        return True

    async def _moderate(self, name: str, rest: str) -> None:
        command = moderation.parse(name, rest, self.view.room)
        if isinstance(command, moderation.Usage):
            self.say(command.text)
        else:
            await self.client.moderate(command)

    async def _say(self, text: str) -> None:
        """Text (a paste may have many lines) to the current room, paced, in pieces the
        server takes."""
        for piece in chunks(text):
            await self.pacer.wait()
            await self.client.chat(piece, self.view.room)

    # ------------------------------------------------------------------ files

    def _web_base(self) -> str:
        if self.web:
            return self.web.rstrip("/")
        scheme = "https" if self.client.tls is not None else "http"
        return f"{scheme}://{self.client.host}:{WEB_PORT}"

    async def _upload(self, rest: str) -> None:
        path = Path(rest).expanduser()
        token = self.client.token
        if not rest or not path.is_file():
            self.say("Usage: /upload PATH (a file)")
            return
        if token is None:
            self.say("! Sign in to an account to share files (/register or /login).")
            return
        bar = ProgressBar(self.say, f"Uploading {path.name}")
        try:
            shared = await upload(self._web_base(), token, self.view.room, path, bar, self._ca)
        except (OSError, ClientError, TimeoutError) as exc:
            self.say(f"! Upload failed: {exc or type(exc).__name__}")
            return
        self.say(f"* Shared {shared['name']} in #{self.view.room}")

    async def _download(self, rest: str) -> None:
        number, _, where = rest.partition(" ")
        shared = self.files.get(int(number)) if number.isdigit() else None
        token = self.client.token
        if shared is None:
            self.say("Usage: /download ID [PATH] (ID: the number after a shared file)")
            return
        if token is None:
            self.say("! Sign in to an account to download files.")
            return
        target = Path(where.strip() or ".").expanduser()
        dest = free_path(target, shared.name) if target.is_dir() else target
        bar = ProgressBar(self.say, f"Downloading {shared.name}")
        try:
            saved = await download(shared.url, token, dest, bar, self._ca)
        except (OSError, ClientError, TimeoutError) as exc:
            self.say(f"! Download failed: {exc or type(exc).__name__}")
            return
        self.say(f"* Saved {saved}")

    @property
    def _ca(self) -> str | None:
        tls = self.client.tls
        return None if tls is None or tls.ca is None else str(tls.ca)

    async def _help(self, rest: str) -> None:
        text = moderation.HELP if rest.lower().startswith("mod") else HELP
        self.say(*text.splitlines())

    async def _ping(self, rest: str) -> None:
        try:
            rtt = await self.client.ping()
        except TimeoutError:
            self.say("! No pong from the server within 10 s")
            return
        self.say(f"Pong! Round-trip time: {rtt * 1000:.1f} ms")

    async def _users(self, rest: str) -> None:
        await self.client.list_users(rest.lstrip("#") or None)

    async def _msg(self, rest: str) -> None:
        target, _, text = rest.partition(" ")
        if not target or not text.strip():
            self.say("Usage: /msg NAME text")
            return
        await self.pacer.wait()
        await self.client.private(target, text.strip())

    async def _rooms(self, rest: str) -> None:
        await self.client.list_rooms(rest.strip() or None)

    async def _join(self, rest: str) -> None:
        room = rest.lstrip("#").strip()
        if not room or " " in room:
            self.say("Usage: /join ROOM")
            return
        if self.client.in_room(room):
            await self._switch(room)
            return
        self._switch_to = room.casefold()
        await self.client.join_room(room)

    async def _leave(self, rest: str) -> None:
        await self.client.leave_room(rest.lstrip("#").strip() or self.view.room)

    async def _switch(self, rest: str) -> None:
        room = rest.lstrip("#").strip()
        if not room:
            self.say(f"Usage: /switch ROOM (you are in {self._my_rooms()})")
        elif not self.client.in_room(room):
            self.say(f"! You are not in #{room}; /join {room} first")
        else:
            self.view.room = next(r for r in self.client.rooms if r.casefold() == room.casefold())
            self.say(f"* Now talking in #{self.view.room}")

    def _room_and_rest(self, rest: str) -> tuple[str, str]:
        """An optional room before the rest of a command, taken only when it starts with
        `#`: `/topic Dev talk` while in #dev is the topic "Dev talk" of the current room."""
        first, _, text = rest.strip().partition(" ")
        if first.startswith("#") and first.strip("#"):
            return first.strip("#"), text.strip()
        return self.view.room, rest.strip()

    async def _topic(self, rest: str) -> None:
        room, text = self._room_and_rest(rest)
        if not text:
            self.say("Usage: /topic [#ROOM] text")
            return
        await self.pacer.wait()  # a topic counts as a message against the server's rate
        await self.client.set_topic(room, text)

    async def _history(self, rest: str) -> None:
        room, text = self._room_and_rest(rest)
        try:
            count = int(text) if text else HISTORY_DEFAULT
        except ValueError:
            count = 0
        if count <= 0:
            self.say("Usage: /history [#ROOM] [N] (N a positive number)")
            return
        await self.client.history(room, limit=count)

    async def _search(self, rest: str) -> None:
        room, words = self._room_and_rest(rest)
        if not words:
            self.say("Usage: /search [#ROOM] words")
            return
        await self.client.search(room, words)

    async def _nick(self, rest: str) -> None:
        if not rest or " " in rest:
            self.say("Usage: /nick NAME")
            return
        await self.client.rename(rest)

    def _my_rooms(self) -> str:
        return ", ".join("#" + r for r in self.client.rooms)

    # ------------------------------------------------------------------ accounts

    async def _register(self, rest: str) -> None:
        name = rest.strip() or self.view.me
        if " " in name:
            self.say("Usage: /register [NAME]")
            return
        if not self.client.guest:
            self.say(f"! You are signed in to the account {self.client.account} already.")
            return
        password = await self._new_password(f"Password for the new account {name}: ")
        if password is None:
            self.say("* Nothing was registered.")
            return
        try:
            welcome = await self.client.register(name, password)
        except Refused as exc:
            self.say(f"! {exc.message}")
            return
        self.say(f"* The account {welcome.account or name} is yours.")
        self._signed_in(welcome)

    async def _login(self, rest: str) -> None:
        name = rest.strip() or self.view.me
        if " " in name:
            self.say("Usage: /login [NAME]")
            return
        if not self.client.guest:
            self.say(f"! You are signed in to the account {self.client.account} already.")
            return
        while True:
            password = await self.terminal.ask(
                f"Password for {name} (Enter alone cancels): ", secret=True
            )
            if not password:
                self.say("* Not signed in.")
                return
            try:
                welcome = await self.client.login(name, password)
            except Refused as exc:
                self.say(f"! {exc.message}")
                if exc.code == ErrorCode.AUTH_FAILED:
                    continue  # a typo: try again (the server throttles guessing)
                return
            break
        self._signed_in(welcome)

    async def _logout(self, rest: str) -> None:
        if self.client.guest:
            self.say("! You are a guest: there is no login to end (/quit leaves).")
            return
        self._forget_login()
        await self.client.logout()

    async def _password(self, rest: str) -> None:
        if self.client.guest:
            self.say("! Only an account has a password: /register or /login first.")
            return
        old = await self.terminal.ask("Current password: ", secret=True)
        if not old:
            self.say("* The password is unchanged.")
            return
        new = await self._new_password("New password: ")
        if new is None:
            self.say("* The password is unchanged.")
            return
        try:
            done = await self.client.change_password(old, new)
        except Refused as exc:
            self.say(f"! {exc.message}")
            return
        self.say(f"* {done.message}")

    async def _new_password(self, question: str) -> str | None:
        """A new password, typed twice; None when given up or the two differ (said why)."""
        password = await self.terminal.ask(question, secret=True)
        if not password:
            return None
        again = await self.terminal.ask("The same password again: ", secret=True)
        if again != password:
            self.say("! The two passwords differ.")
            return None
        return password

    def _signed_in(self, welcome: ev.Welcome) -> None:
        self.view.me = self.client.username or self.view.me
        self.say(*signed_in_lines(welcome))
        if save_login(self.tokens, self.client):
            self.say(f"* Your login is saved for next time in {self.tokens.path}")

    def _forget_login(self) -> None:
        client = self.client
        name = client.account or client.username or self.view.me
        with contextlib.suppress(OSError):
            self.tokens.forget(client.host, client.port, name)


# ---------------------------------------------------------------------- running


def _ask(question: str) -> str | None:
    """One answer from stdin; None at end of input."""
    try:
        return input(question).strip()
    except EOFError:
        return None


def _ask_address(
    host: str | None, port: int | None, default_port: int = DEFAULT_PORT
) -> tuple[str, int] | None:
    if host is None:
        answer = _ask(f"Server host (default: {DEFAULT_HOST}): ")
        if answer is None:
            return None
        host = answer or DEFAULT_HOST
    while port is None:
        answer = _ask(f"Server port (default: {default_port}): ")
        if answer is None:
            return None
        if not answer:
            port = default_port
        elif answer.isdigit() and 0 < int(answer) < 65536:
            port = int(answer)
        else:
            print("! A port is a number between 1 and 65535")
    return host, port


async def _ask_user(terminal: LineInput) -> str | None:
    while True:
        answer = await terminal.ask("Enter your username: ")
        if answer is None:
            return None
        if answer.strip():
            return answer.strip()
        terminal.show("! A username cannot be empty")


def save_login(tokens: TokenStore, client: ChatClient) -> bool:
    """Keep the client's login token for next time; False if there is none or it failed."""
    if client.account is None or client.token is None:
        return False
    try:
        if tokens.get(client.host, client.port, client.account) != client.token:
            tokens.put(client.host, client.port, client.account, client.token)
    except OSError:
        return False
    return True


# Refusals that a password answers: the name is an account's, the password was wrong, the
# server is for accounts only, or too many failures (its message says how long to wait).
_ASK_PASSWORD = frozenset(
    {
        ErrorCode.NAME_REGISTERED,
        ErrorCode.AUTH_FAILED,
        ErrorCode.LOGIN_REQUIRED,
        ErrorCode.AUTH_THROTTLED,
    }
)


async def _sign_in(
    host: str,
    port: int,
    name: str,
    terminal: LineInput,
    tokens: TokenStore,
    tls: TlsOptions | None = None,
    reconnect: ReconnectPolicy = LINE_RECONNECT,
) -> tuple[ChatClient, ev.Welcome] | bool:
    """Join as `name`: with its saved login token if there is one, else as a guest, and
    with its password when the server says the name is an account's. The client and its
    welcome, or whether another name may help (the reason was shown)."""
    token = tokens.get(host, port, name)
    password: str | None = None
    while True:
        client = ChatClient(tls=tls, reconnect=reconnect, greeting_wait=GREETING_WAIT)
        try:
            welcome = await client.connect(host, port, name, password=password, token=token)
        except JoinRefused as exc:
            password = None
            if token is not None and exc.code == ErrorCode.AUTH_FAILED:
                with contextlib.suppress(OSError):
                    tokens.forget(host, port, name)
                token = None
                terminal.show(f"! Your saved login for {name} has expired.")
            else:
                terminal.show(f"! {exc.message}")
                if exc.code not in _ASK_PASSWORD:
                    return True
            password = await terminal.ask(
                f"Password for {name} (Enter alone gives up): ", secret=True
            )
            if not password:
                return True
            continue
        except WrongProtocol as exc:
            terminal.show(f"! {exc}.")
            terminal.show(
                "! chinwag chat speaks chinwag's native protocol: give it the server's main"
                f" port ({DEFAULT_PORT} unless its operator chose another; --tls: {TLS_PORT})."
            )
            return False
        except TimeoutError:
            seconds = client.policy.connect_timeout
            terminal.show(
                f"! {host}:{port} did not answer within {seconds:g} s:"
                " is it a chinwag server's main port?"
            )
            return False
        except (OSError, ClientError) as exc:
            terminal.show(f"! Cannot connect to {host}:{port}: {exc or type(exc).__name__}")
            return False
        save_login(tokens, client)
        return client, welcome


async def _connect(
    host: str,
    port: int,
    user: str | None,
    terminal: LineInput,
    tokens: TokenStore,
    tls: TlsOptions | None = None,
    reconnect: ReconnectPolicy = LINE_RECONNECT,
) -> tuple[ChatClient, ev.Welcome] | int:
    """Join, asking again for a name the server refused (unless it came from --user)."""
    asked = user is None
    while True:
        name = user if user is not None else await _ask_user(terminal)
        if name is None:
            return 1
        joined = await _sign_in(host, port, name, terminal, tokens, tls, reconnect)
        if isinstance(joined, tuple):
            return joined
        if not (joined and asked):
            return 1
        user = None


async def _chat(
    host: str,
    port: int,
    user: str | None,
    *,
    terminal: LineInput | None = None,
    tokens: TokenStore | None = None,
    tls: TlsOptions | None = None,
    reconnect: ReconnectPolicy = LINE_RECONNECT,
    web: str | None = None,
) -> int:
    """The session: join, then chat until /quit, end of input or the connection's end.
    `terminal` and `tokens` default to the real ones (tests pass their own, and a
    `reconnect` policy with short delays)."""
    chat: LineChat | None = None
    if terminal is None:
        terminal = open_input(lambda: chat.prompt() if chat else "> ")
    tokens = tokens or TokenStore()
    joined = await _connect(host, port, user, terminal, tokens, tls, reconnect)
    if isinstance(joined, int):
        return joined
    client, welcome = joined
    lines = PasteInput(terminal)  # a paste without bracketed paste: one message
    chat = LineChat(client, lines, welcome.username, tokens, web)
    with terminal.session():
        chat.say(*welcome_lines(welcome))
        account = client.account
        if welcome.token is not None and account and tokens.get(host, port, account):
            chat.say(f"* Your login is saved for next time in {tokens.path}")
        events = asyncio.create_task(chat.show_events())
        try:
            while True:
                reading = asyncio.create_task(lines.read())
                await asyncio.wait({reading, events}, return_when=asyncio.FIRST_COMPLETED)
                if events.done():
                    reading.cancel()
                    break
                line = reading.result()
                if line is None or not await chat.handle(line):
                    await client.quit()
                    break
            try:
                closed = await asyncio.wait_for(events, 10)
            except TimeoutError:  # pragma: no cover - the stream ends once the client closes
                closed = Closed("the event stream did not end", by_user=False)
        finally:
            lines.close()
            await client.close()
            if not events.done():
                events.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await events
    if closed.by_user:
        chat.say("Bye!")
        return 0
    return 1


def run_line_client(
    *,
    host: str | None,
    port: int | None,
    user: str | None,
    tls: TlsOptions | None = None,
    web: str | None = None,
) -> int:
    """The `chinwag chat` command; its exit status (0 after /quit, 1 when cut off)."""
    print("chinwag chat")
    print("=" * 30)
    address = _ask_address(host, port, TLS_PORT if tls else DEFAULT_PORT)
    if address is None:
        return 1
    try:
        return asyncio.run(_chat(*address, user, tls=tls, web=web))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
