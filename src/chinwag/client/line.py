"""`chinwag chat`: the line client, a thin front end over ChatClient (client layer).

It asks for what the command line did not say (as seed 004's client does), then runs two
things side by side: the event stream, rendered by chinwag.client.format, and the input
loop, where a line is either a /command (chinwag.client.commands reads it,
chinwag.client.runner carries it out; the TUI shares both) or a message to the current room.

Accounts: a name that belongs to an account is asked its password (hidden on a terminal);
`/register`, `/login`, `/logout` and `/password` work inside. The login token of a
successful sign-in is saved (chinwag.client.tokens) and used the next time, so the password
is asked once; a saved token the server no longer takes is dropped and the password asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence

from chinwag.certs import TLS_PORT
from chinwag.client.format import event_lines, welcome_lines
from chinwag.client.library import ChatClient, JoinRefused
from chinwag.client.paste import PasteInput, paste_window
from chinwag.client.runner import CommandRunner, save_login
from chinwag.client.status import Closed, ReconnectPolicy
from chinwag.client.terminal import LineInput, open_input
from chinwag.client.tokens import TokenStore
from chinwag.client.trust import TlsOptions
from chinwag.errors import ClientError, WrongProtocol
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.text import inert

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 12345
# A person at the keyboard expects the chat to come back whenever the server does, as IRC
# clients do: retry until they quit, at most 30 s apart.
LINE_RECONNECT = ReconnectPolicy(max_attempts=None, max_delay=30.0)
# How long to listen before the first line goes out: a port that speaks first (the plain
# dialect's) would say that line to the room (chinwag.client.probe).
GREETING_WAIT = 0.2


class LineChat(CommandRunner):
    """A line-client session: the shared commands, the prompt and the rendered stream."""

    def prompt(self) -> str:
        return inert(f"{self.view.me}@{self.view.room}> ")  # both names come from the server

    async def show_events(self) -> Closed:
        """Render the event stream until it ends; its final Closed event."""
        async for event in self.client:
            self.say(*event_lines(event, self.view))
            self.follow(event)
            if isinstance(event, Closed):
                if event.code == ErrorCode.AUTH_FAILED:
                    self.forget_login()
                    self.say("* Your saved login has expired; run chinwag chat again to log in.")
                return event
        return Closed("closed", by_user=True)  # pragma: no cover - the stream ends with Closed


# ---------------------------------------------------------------------- running


def _ask(question: str) -> str | None:
    """One answer from stdin; None at end of input."""
    try:
        return input(question).strip()
    except EOFError:
        return None


Address = tuple[str, int]


def parse_servers(text: str) -> list[tuple[str, int | None]]:
    """`HOST[:PORT][,HOST[:PORT]...]`: the nodes of one chat, tried in turn. An IPv6 address
    with a port goes in brackets (`[::1]:12345`); a bare one has no port. Raises ValueError
    with what is wrong."""
    servers: list[tuple[str, int | None]] = []
    for item in text.split(","):
        item = item.strip()
        host, port = item, ""
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest and not rest.startswith(":"):
                raise ValueError(f"{item!r}: after [ADDRESS] comes :PORT or nothing")
            port = rest[1:]
        elif item.count(":") == 1:
            host, _, port = item.partition(":")
        if not host:
            raise ValueError(f"{item!r}: no host (HOST[:PORT], several separated by commas)")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"{item!r}: a port is a number between 1 and 65535")
        servers.append((host, int(port) if port else None))
    return servers


def ask_address(
    host: str | None, port: int | None, default_port: int = DEFAULT_PORT
) -> list[Address] | None:
    """The servers to try, in order: `host` is one or several (`parse_servers`); what the
    command line did not say is asked. A host without its own port gets `port`."""
    while True:
        if host is None:
            answer = _ask(f"Server host (default: {DEFAULT_HOST}): ")  # or several, a,b
            if answer is None:
                return None
            text = answer or DEFAULT_HOST
        else:
            text = host
        try:
            servers = parse_servers(text)
            break
        except ValueError as exc:
            print(f"! {exc}")
            if host is not None:
                return None
    while port is None and any(p is None for _, p in servers):
        answer = _ask(f"Server port (default: {default_port}): ")
        if answer is None:
            return None
        if not answer:
            port = default_port
        elif answer.isdigit() and 0 < int(answer) < 65536:
            port = int(answer)
        else:
            print("! A port is a number between 1 and 65535")
    return [(h, p if p is not None else port or default_port) for h, p in servers]


async def _ask_user(terminal: LineInput) -> str | None:
    while True:
        answer = await terminal.ask("Enter your username: ")
        if answer is None:
            return None
        if answer.strip():
            return answer.strip()
        terminal.show("! A username cannot be empty")


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
    failover: Sequence[Address] = (),
) -> tuple[ChatClient, ev.Welcome] | bool:
    """Join as `name`: with its saved login token if there is one, else as a guest, and
    with its password when the server says the name is an account's. The client and its
    welcome, or whether another name may help (the reason was shown)."""
    token = tokens.get(host, port, name)
    password: str | None = None
    while True:
        client = ChatClient(tls=tls, reconnect=reconnect, greeting_wait=GREETING_WAIT)
        try:
            welcome = await client.connect(
                host, port, name, password=password, token=token, failover=failover
            )
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
                f"! {client.host}:{client.port} did not answer within {seconds:g} s:"
                " is it a chinwag server's main port?"
            )
            return False
        except (OSError, ClientError) as exc:
            where = f"{host}:{port}" if not failover else "any server"
            terminal.show(f"! Cannot connect to {where}: {exc or type(exc).__name__}")
            return False
        save_login(tokens, client)
        return client, welcome


async def connect_user(
    host: str,
    port: int,
    user: str | None,
    terminal: LineInput,
    tokens: TokenStore,
    tls: TlsOptions | None = None,
    reconnect: ReconnectPolicy = LINE_RECONNECT,
    failover: Sequence[Address] = (),
) -> tuple[ChatClient, ev.Welcome] | int:
    """Join, asking again for a name the server refused (unless it came from --user).
    `failover`: the chat's other servers (tried when `host:port` cannot be reached, and
    in turn on reconnects); saved logins are kept under the first address."""
    asked = user is None
    while True:
        name = user if user is not None else await _ask_user(terminal)
        if name is None:
            return 1
        joined = await _sign_in(host, port, name, terminal, tokens, tls, reconnect, failover)
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
    failover: Sequence[Address] = (),
) -> int:
    """The session: join, then chat until /quit, end of input or the connection's end.
    `terminal` and `tokens` default to the real ones (tests pass their own, and a
    `reconnect` policy with short delays). `web`: the server's web address, for files."""
    chat: LineChat | None = None
    if terminal is None:
        terminal = open_input(lambda: chat.prompt() if chat else "> ")
    tokens = tokens or TokenStore()
    joined = await connect_user(host, port, user, terminal, tokens, tls, reconnect, failover)
    if isinstance(joined, int):
        return joined
    client, welcome = joined
    lines = PasteInput(terminal, paste_window())  # a paste without bracketed paste: one message
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
    servers = ask_address(host, port, TLS_PORT if tls else DEFAULT_PORT)
    if servers is None:
        return 1
    (first_host, first_port), *others = servers
    try:
        return asyncio.run(_chat(first_host, first_port, user, tls=tls, web=web, failover=others))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
