"""Carrying out typed commands: the part of a session both terminal clients share.

chinwag.client.commands reads a line into an action; `CommandRunner.handle` does it with a
ChatClient, says what the user should read through `terminal.show`, and asks passwords
through `terminal.ask(secret=True)`. The line client shows those lines on stdout; the TUI
in its message pane and a modal question. Accounts: `/register`, `/login`, `/logout` and
`/password`; the login token of a sign-in is saved (chinwag.client.tokens) for next time.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from chinwag.client import commands, moderation
from chinwag.client.format import View, signed_in_lines
from chinwag.client.library import ChatClient, Refused
from chinwag.client.paste import Pacer, chunks
from chinwag.client.terminal import LineInput
from chinwag.client.tokens import TokenStore
from chinwag.client.webfiles import ProgressBar, download, free_path, upload
from chinwag.errors import ClientError, ConnectionClosed
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.protocol.text import inert

WEB_PORT = 8080  # the server's web front end (files), unless `chinwag chat --web URL`


class CommandRunner:
    """The commands of one session; `view.room` is the room typed text goes to."""

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

    def say(self, *lines: str) -> None:
        for line in lines:
            self.terminal.show(line)

    def follow(self, event: object) -> None:
        """Keep the view (our name, our room) in step with what the server says."""
        self.view.me = self.client.username or self.view.me
        if isinstance(event, ev.FileShared):
            self.files[event.id] = event
        elif isinstance(event, ev.RoomJoined) and self._switch_to == event.room.casefold():
            self._switch_to = None
            self.switched(event.room)
        elif isinstance(event, ev.RoomLeft | ev.Moderated) and not self.client.in_room(
            self.view.room
        ):
            self.switched(DEFAULT_ROOM)

    def switched(self, room: str) -> None:
        """Typed text goes to `room` from now on (a front end may show more)."""
        self.view.room = room
        self.say(f"* Now talking in #{room}")

    # ------------------------------------------------------------------ input

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False when the user asked to leave."""
        action = commands.parse(line, self.view.room)
        try:
            return await self.run(action)
        except ConnectionClosed:
            self.say("! Not connected right now; that was not sent.")
        except TimeoutError:  # an account operation the server did not answer
            self.say("! The server did not answer in time.")
        return True

    async def run(self, action: commands.Action | None) -> bool:
        match action:
            case None:
                pass
            case commands.Simple(action="quit"):
                return False
            case commands.Simple(action="ping"):
                await self._ping()
            case commands.Say(text=text):
                await self.say_text(text)
            case commands.Send(command=command, paced=paced):
                if paced:
                    await self.pacer.wait()
                await self.client.send(command)
            case commands.Msg(target=target, text=text):
                await self.pacer.wait()
                await self.client.private(target, text)
            case commands.JoinRoom(room=room):
                await self._join(room)
            case commands.Switch(room=room):
                self._switch(room)
            case commands.Help(moderation=mod):
                self.say(*(moderation.HELP if mod else commands.HELP).splitlines())
            case commands.Account(action=name, name=who):
                await self._account(name, who)
            case commands.Upload(path=path):
                await self._upload(path)
            case commands.Download(id=number, path=path):
                await self._download(number, path)
            case moderation.Usage(text=text):
                self.say(text)
        return True

    async def say_text(self, text: str) -> None:
        """Text (a paste may have many lines) to the current room, paced, in pieces the
        server takes."""
        for piece in chunks(text):
            await self.pacer.wait()
            await self.client.chat(piece, self.view.room)

    async def _ping(self) -> None:
        try:
            rtt = await self.client.ping()
        except TimeoutError:
            self.say("! No pong from the server within 10 s")
            return
        self.say(f"Pong! Round-trip time: {rtt * 1000:.1f} ms")

    async def _join(self, room: str) -> None:
        if self.client.in_room(room):
            self._switch(room)
            return
        self._switch_to = room.casefold()
        await self.client.join_room(room)

    def _switch(self, room: str) -> None:
        if not room:
            self.say(f"Usage: /switch ROOM (you are in {self._my_rooms()})")
        elif not self.client.in_room(room):
            self.say(f"! You are not in #{room}; /join {room} first")
        else:
            self.switched(next(r for r in self.client.rooms if r.casefold() == room.casefold()))

    def _my_rooms(self) -> str:
        return ", ".join("#" + r for r in self.client.rooms)

    # ------------------------------------------------------------------ files

    def _web_base(self) -> str:
        if self.web:
            return self.web.rstrip("/")
        scheme = "https" if self.client.tls is not None else "http"
        return f"{scheme}://{self.client.host}:{WEB_PORT}"

    async def _upload(self, where: str) -> None:
        path = Path(where).expanduser()
        token = self.client.token
        if not path.is_file():
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
        self.say(inert(f"* Shared {shared['name']} in #{self.view.room}"))

    async def _download(self, number: int, where: str) -> None:
        shared = self.files.get(number)
        token = self.client.token
        if shared is None:
            self.say("Usage: /download ID [PATH] (ID: the number after a shared file)")
            return
        if token is None:
            self.say("! Sign in to an account to download files.")
            return
        target = Path(where or ".").expanduser()
        dest = free_path(target, shared.name) if target.is_dir() else target
        bar = ProgressBar(self.say, inert(f"Downloading {shared.name}"))  # the server's text
        try:
            saved = await download(shared.url, token, dest, bar, self._ca)
        except (OSError, ClientError, TimeoutError) as exc:
            self.say(f"! Download failed: {exc or type(exc).__name__}")
            return
        self.say(inert(f"* Saved {saved}"))

    @property
    def _ca(self) -> str | None:
        tls = self.client.tls
        return None if tls is None or tls.ca is None else str(tls.ca)

    # ------------------------------------------------------------------ accounts

    async def _account(self, action: str, name: str | None) -> None:
        if action == "register":
            await self._register(name or self.view.me)
        elif action == "login":
            await self._login(name or self.view.me)
        elif action == "logout":
            await self._logout()
        else:
            await self._password()

    async def _register(self, name: str) -> None:
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

    async def _login(self, name: str) -> None:
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

    async def _logout(self) -> None:
        if self.client.guest:
            self.say("! You are a guest: there is no login to end (/quit leaves).")
            return
        self.forget_login()
        await self.client.logout()

    async def _password(self) -> None:
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

    def forget_login(self) -> None:
        client = self.client
        name = client.account or client.username or self.view.me
        with contextlib.suppress(OSError):
            self.tokens.forget(*client.primary, name)


def save_login(tokens: TokenStore, client: ChatClient) -> bool:
    """Keep the client's login token for next time; False if there is none or it failed."""
    if client.account is None or client.token is None:
        return False
    try:
        host, port = client.primary  # the first address given, whichever answered
        if tokens.get(host, port, client.account) != client.token:
            tokens.put(host, port, client.account, client.token)
    except OSError:
        return False
    return True
