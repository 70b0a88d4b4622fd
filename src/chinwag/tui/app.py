"""`chinwag tui`: the Textual front end over ChatClient (client layer).

Layout: the conversations on the left (rooms, then private conversations, with unread and
mention counts), the topic on top, the messages of the conversation in view (one
chinwag.tui.log.MessageLog each), the member list on the right (F2 hides it), the input
line and the connection state at the bottom.

What is shared with the line client, not redone here: the sign-in flow (name, password,
saved login token: chinwag.client.line.connect_user), the slash commands
(chinwag.client.commands, carried out by chinwag.client.runner), the per-conversation state
and history paging (chinwag.client.state, ChatClient.older), the rendering of notices that
are not messages (chinwag.client.format). Typed lines are handled one at a time, in order,
by one worker (`_typing`), since a command may stop to ask for a password.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import ContentSwitcher, OptionList, Static
from textual.widgets.option_list import Option

from chinwag.client.format import event_lines, welcome_lines
from chinwag.client.library import ChatClient
from chinwag.client.line import connect_user
from chinwag.client.runner import CommandRunner
from chinwag.client.state import Conversation, key
from chinwag.client.status import (
    ClientEvent,
    Closed,
    Disconnected,
    OlderHistory,
    Reconnected,
    Reconnecting,
    ReconnectPolicy,
)
from chinwag.client.tokens import TokenStore
from chinwag.client.trust import TlsOptions
from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM, ErrorCode
from chinwag.protocol.text import inert
from chinwag.tui import render
from chinwag.tui.ask import TuiTerminal, osc_notification, worth_notifying
from chinwag.tui.entry import ChatInput, palette_commands
from chinwag.tui.log import MessageLog
from chinwag.tui.render import LOCAL, Clock

# Events that change no member list.
_NO_MEMBERS = (ev.ChatMessage, ev.PrivateMessage, ev.TopicChanged, OlderHistory, ev.Error)
TUI_RECONNECT = ReconnectPolicy(max_attempts=None, max_delay=30.0)  # until the user quits
WIDE = 100  # columns from which the member list shows from the start (F2 toggles it)
PASTE_QUESTION_LINES = 40  # a longer paste is sent only once the user says yes

CSS = """
#sidebar { width: 20; border: none; border-right: solid $panel-lighten-2; padding: 0; }
#topic { height: 1; background: $panel; padding: 0 1; }
#members { width: 20; border-left: solid $panel-lighten-2; padding: 0 1; }
#members.hidden { display: none; }
#status { height: 1; background: $panel; padding: 0 1; }
#entry { border: none; height: 1; padding: 0 1; }
"""


class TuiRunner(CommandRunner):
    """The shared commands, with text in a private conversation sent to that person."""

    def __init__(self, app: ChatApp, client: ChatClient, terminal: TuiTerminal, me: str,
                 tokens: TokenStore | None) -> None:  # fmt: skip
        super().__init__(client, terminal, me, tokens)
        self.app = app

    def switched(self, room: str) -> None:
        self.view.room = room
        self.app.select(key(room))

    async def say_text(self, text: str) -> None:
        found = self.client.state.conversations.get(self.app.in_view)
        if found is not None and found.private:
            await self.pacer.wait()
            await self.client.private(found.name, text)
        else:
            await super().say_text(text)


class ChatApp(App[int]):
    """See the module docstring; runs until /quit (0) or the connection ends for good (1)."""

    TITLE = "chinwag"
    CSS = CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pageup", "page_up", "Scroll up", show=False, priority=True),
        Binding("pagedown", "page_down", "Scroll down", show=False, priority=True),
        Binding("f2", "toggle_members", "Members"),
        Binding("ctrl+n", "next_conversation(1)", "Next room", priority=True),
        Binding("ctrl+b", "next_conversation(-1)", "Previous room", priority=True),
        Binding("ctrl+q", "quit_chat", "Quit", priority=True),
    ]

    def __init__(
        self,
        host: str,
        port: int,
        user: str | None,
        *,
        tls: TlsOptions | None = None,
        tokens: TokenStore | None = None,
        reconnect: ReconnectPolicy = TUI_RECONNECT,
        clock: Clock = LOCAL,
        env: dict[str, str] | None = None,
        failover: Sequence[tuple[str, int]] = (),
    ) -> None:
        super().__init__()
        self.host, self.port, self.user = host, port, user
        self.failover = tuple(failover)  # the chat's other servers (ChatClient.connect)
        self.tls, self.tokens, self.reconnect = tls, tokens or TokenStore(), reconnect
        self.clock = clock
        self.env = dict(os.environ) if env is None else env
        self.me = [user or ""]  # shared with every MessageLog
        self.client: ChatClient | None = None
        self.runner: TuiRunner | None = None
        self.in_view = key(DEFAULT_ROOM)
        self._offline: str | None = "connecting..."  # None while connected
        self.ended = 0  # the exit status: 1 once the connection ended for good
        self.notified = 0  # bells rung (tests read it: headless terminals ring nothing)
        self._typed: asyncio.Queue[str] = asyncio.Queue()
        self._shown_sending: set[int] = set()  # ids of the Sending objects on screen
        self.terminal = TuiTerminal(self.show, self.push_screen_wait)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="sidebar")
            with Vertical():
                yield Static(id="topic", markup=False)
                with Horizontal():
                    with ContentSwitcher(id="logs", initial="log-0"):
                        yield MessageLog(key(DEFAULT_ROOM), self.clock, self.me, id="log-0")
                    yield VerticalScroll(Static(id="member-list"), id="members")
        yield ChatInput(self._candidates, id="entry", placeholder="Type a message, /help")
        yield Static(id="status", markup=False)

    def on_mount(self) -> None:
        if self.size.width < WIDE:  # on a narrow terminal the messages need the room
            self.action_toggle_members()
        general = self.query_one("#log-0", MessageLog)
        self._logs: dict[str, MessageLog] = {key(DEFAULT_ROOM): general}
        self.query_one(ChatInput).focus()
        self._refresh()
        self.run_worker(self._session(), name="session", exit_on_error=True)

    def log_of(self, conversation: str) -> MessageLog:
        found = self._logs.get(conversation)
        if found is None:
            found = MessageLog(conversation, self.clock, self.me, id=f"log-{len(self._logs)}")
            self._logs[conversation] = found
            self.query_one("#logs", ContentSwitcher).mount(found)
        return found

    def show(self, line: str) -> None:
        """A line for the user (help, errors, what the server said) in the view."""
        self.log_of(self.in_view).system(line)

    def select(self, conversation: str) -> None:
        """Look at `conversation`: its log, its topic, its members; its counts reset."""
        if conversation != self.in_view:
            self.log_of(self.in_view).leave()
        self.in_view = conversation
        log = self.log_of(conversation)
        self.query_one("#logs", ContentSwitcher).current = log.id
        if self.client is not None:
            found = self.client.state.view(conversation)
            if self.runner is not None and not found.private:
                self.runner.view.room = found.name
        self._refresh()

    def _refresh(self, members: bool = True) -> None:
        """Sidebar, topic, members and the connection state, from the client's state
        (members only when asked: redrawing a big room's list for each message costs)."""
        state = self.client.state if self.client else None
        conversations = [*state.rooms(), *state.people()] if state else []
        sidebar = self.query_one("#sidebar", OptionList)
        sidebar.set_options(Option(render.sidebar_label(c), id=c.key) for c in conversations)
        keys = [c.key for c in conversations]
        if self.in_view in keys:
            sidebar.highlighted = keys.index(self.in_view)
        found = state.conversations.get(self.in_view) if state else None
        topic = "" if found is None else self._topic(found)
        self.query_one("#topic", Static).update(render.system(topic) if topic else "")
        if members:
            shown = [] if found is None or found.private else found.sorted_members()
            listing = Text("\n").join(render.member_label(m) for m in shown)
            self.query_one("#member-list", Static).update(listing)
        status = f"{self.connection}  |  F2 members  Ctrl+N/B rooms  Ctrl+P commands  Ctrl+Q quit"
        self.query_one("#status", Static).update(inert(status))

    def _topic(self, found: Conversation) -> str:
        if found.private:
            return f"Private conversation with {found.name}"
        return f"#{found.name}: {found.topic}" if found.topic else f"#{found.name}"

    # ------------------------------------------------------------------ the session

    async def _session(self) -> None:
        joined = await connect_user(self.host, self.port, self.user, self.terminal, self.tokens,
                                    self.tls, self.reconnect, self.failover)  # fmt: skip
        if isinstance(joined, int):
            self.exit(joined)
            return
        client, welcome = joined
        self.client, self.me[0] = client, welcome.username
        self.runner = TuiRunner(self, client, self.terminal, welcome.username, self.tokens)
        self._offline = None
        for line in welcome_lines(welcome):
            self.show(line)
        self.select(key(DEFAULT_ROOM))
        self.run_worker(self._typing(), name="typing", exit_on_error=True)
        async for event in client:
            self._event(event)
            if isinstance(event, Closed):
                break
        self._refresh()

    @property
    def connection(self) -> str:
        """The connection state as the status line shows it."""
        if self._offline is not None:
            return self._offline
        who = "guest" if self.client is None or self.client.guest else "account"
        return f"● connected as {self.me[0]} ({who})"

    def _event(self, event: ClientEvent) -> None:
        assert self.client is not None and self.runner is not None
        self.runner.follow(event)
        self.me[0] = self.client.state.me or self.me[0]
        match event:
            case ev.ChatMessage() | ev.PrivateMessage() | ev.TopicChanged() | ev.FileShared():
                conversation = self._conversation(event)
                self.log_of(conversation).add(event)
                if conversation != self.in_view and not event.history:
                    self._notify(event)
            case OlderHistory(conversation=conversation, messages=messages):
                self.log_of(conversation).prepend(messages)
            case ev.RoomJoined(room=room):
                self.log_of(key(room)).system(f"You are in #{room}")
            case ev.RoomLeft(room=room) if self.in_view == key(room):
                self.select(key(DEFAULT_ROOM))
                self.show(f"You left #{room}")
            case ev.UserJoined(room=room) | ev.UserLeft(room=room):
                for line in event_lines(event, self.runner.view):
                    self.log_of(key(room)).system(line)
            case Disconnected():
                self._offline = "○ connection lost"
                self._say_all(event)
            case Reconnecting(attempt=attempt, delay=delay, server=server):
                to = f" to {server}" if server else ""
                self._offline = f"○ reconnecting{to} in {delay:.0f} s (attempt {attempt})"
                self._say_all(event)
            case Reconnected():
                self._offline = None
                self.show("* Reconnected; what was said meanwhile follows.")
            case Closed(by_user=False):
                self._offline = "○ disconnected (Ctrl+Q quits)"
                self.ended = 1  # cut off: the exit status says so, as the line client's
                self._say_all(event)
                if event.code == ErrorCode.AUTH_FAILED:
                    self.runner.forget_login()
                    self.show("* Your saved login has expired; run chinwag tui again to log in.")
            case _:
                for line in event_lines(event, self.runner.view):
                    self.show(line)
        self._refresh(members=not isinstance(event, _NO_MEMBERS))

    def _say_all(self, event: ClientEvent) -> None:
        assert self.runner is not None
        for line in event_lines(event, self.runner.view):
            self.show(line)

    def _conversation(self, event: ev.StoredNotice) -> str:
        if isinstance(event, ev.PrivateMessage):
            me = self.me[0].casefold()
            other = event.target if event.username.casefold() == me else event.username
            return key(other, private=True)
        return key(event.room)

    def _notify(self, event: ev.StoredNotice) -> None:
        """A bell (and a desktop notification where the terminal has them) for a private
        message or a mention while that conversation is not in view."""
        said = worth_notifying(event, self.me[0])
        if said is None:
            return
        title, body = said
        self.notified += 1
        self.bell()
        sequence = osc_notification(self.env, title, body)
        if sequence and not self.is_headless and self._driver is not None:
            self._driver.write(sequence)
        self.notify(inert(body)[:120], title=inert(title), markup=False)

    # ------------------------------------------------------------------ input

    def on_input_submitted(self, event: ChatInput.Submitted) -> None:
        if not isinstance(event.input, ChatInput):
            return
        line = event.value
        event.input.remember(line)
        event.input.value = ""
        self._typed.put_nowait(line)

    def on_chat_input_pasted(self, event: ChatInput.Pasted) -> None:
        self.run_worker(self._paste(event.text), name="paste")

    async def _paste(self, text: str) -> None:
        lines = text.count("\n") + 1
        if lines > PASTE_QUESTION_LINES:
            answer = await self.terminal.ask(f"Send the {lines} pasted lines as one message? (y/n)")
            if not answer or answer.strip().lower() not in ("y", "yes"):
                self.show(f"* The {lines} pasted lines were not sent.")
                return
        self._typed.put_nowait("//" + text if text.startswith("/") else text)

    async def _typing(self) -> None:
        """Each typed line in order; a command that asks a question holds the next."""
        assert self.runner is not None and self.client is not None
        while True:
            line = await self._typed.get()
            if not await self.runner.handle(line):
                await self.client.quit()
                self.exit(self.ended)
                return
            self._show_sending()
            self._refresh(members=False)  # a sign-in changes the status line, not an event

    def _show_sending(self) -> None:
        assert self.client is not None
        waiting = {id(p) for p in self.client.state.sending}
        for pending in self.client.state.sending:
            if id(pending) not in self._shown_sending:
                self.log_of(pending.key).add_pending(pending, time.time())
        self._shown_sending = waiting

    def _candidates(self) -> tuple[list[str], list[str]]:
        if self.client is None:
            return [], []
        return self.client.state.names(), list(self.client.rooms)

    # ------------------------------------------------------------------ actions

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "sidebar" and event.option.id is not None:
            self.select(event.option.id)
            self.query_one(ChatInput).focus()

    def on_message_log_need_older(self, event: MessageLog.NeedOlder) -> None:
        if self.client is not None:
            self.run_worker(self.client.older(event.log.conversation), name="older")

    def action_page_up(self) -> None:
        self.log_of(self.in_view).page_up()

    def action_page_down(self) -> None:
        self.log_of(self.in_view).page_down()

    def action_toggle_members(self) -> None:
        self.query_one("#members").toggle_class("hidden")

    def action_next_conversation(self, step: int) -> None:
        if self.client is None:
            return
        keys = [c.key for c in (*self.client.state.rooms(), *self.client.state.people())]
        if keys:
            at = keys.index(self.in_view) if self.in_view in keys else 0
            self.select(keys[(at + step) % len(keys)])

    async def action_quit_chat(self) -> None:
        self._typed.put_nowait("/quit")
        if self.client is None:
            self.exit(0)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette (Ctrl+P): every conversation and every slash command."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Members", "Show or hide the member list", self.action_toggle_members)
        if self.client is not None:
            for found in (*self.client.state.rooms(), *self.client.state.people()):
                label = ("@" if found.private else "#") + inert(found.name)
                yield SystemCommand(f"Go to {label}", "Switch conversation",
                                    lambda k=found.key: self.select(k))  # fmt: skip
        for usage, help_text, name in palette_commands():
            yield SystemCommand(usage, help_text, lambda n=name: self._prefill(n))

    def _prefill(self, name: str) -> None:
        entry = self.query_one(ChatInput)
        entry.value = f"{name} "
        entry.cursor_position = len(entry.value)
        entry.focus()
