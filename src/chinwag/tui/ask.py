"""Questions the TUI asks (a name, a password, a yes/no) and desktop notifications.

`TuiTerminal` is the TUI's side of chinwag.client.terminal.LineInput, so the sign-in flow
and the commands shared with the line client (chinwag.client.line, .runner) run unchanged:
`show` puts a line in the conversation in view, `ask` opens a modal question (hidden
typing for a password).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from chinwag.client.state import mentions
from chinwag.protocol import events as ev
from chinwag.protocol.text import inert


class AskScreen(ModalScreen[str | None]):
    """One question; Enter answers, Escape gives up (None)."""

    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical { width: 64; height: auto; border: round $accent; padding: 0 1;
                           background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "give_up", "Cancel")]

    def __init__(self, question: str, secret: bool) -> None:
        super().__init__()
        self.question = question
        self.secret = secret

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(inert(self.question), markup=False)
            yield Input(password=self.secret, id="answer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_give_up(self) -> None:
        self.dismiss(None)


class TuiTerminal:
    """A LineInput over the TUI: `show` and `ask` are the app's (see the module docstring)."""

    def __init__(self, show: Callable[[str], None], ask: Callable[..., object]) -> None:
        self._show = show
        self._ask = ask

    async def read(self) -> str | None:  # pragma: no cover - the TUI reads its input widget
        raise NotImplementedError

    def show(self, line: str) -> None:
        self._show(line)

    async def ask(self, question: str, *, secret: bool = False) -> str | None:
        answer = await self._ask(AskScreen(question, secret))  # type: ignore[misc]
        return answer if isinstance(answer, str) else None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        yield


def osc_notification(env: Mapping[str, str], title: str, body: str) -> str:
    """The desktop-notification escape sequence the terminal understands, or "" if none is
    known: OSC 9 (iTerm2, WezTerm, kitty, Windows Terminal, Ghostty), OSC 777 (VTE
    terminals, foot, urxvt). Title and body are made inert and lose `;`, which would end
    a field, so other people's text cannot close the sequence and start another."""
    title, body = (inert(t).replace(";", ",").replace("\\", "/")[:200] for t in (title, body))
    program = env.get("TERM_PROGRAM", "")
    term = env.get("TERM", "")
    if program in ("iTerm.app", "WezTerm", "ghostty") or "WT_SESSION" in env or "kitty" in term:
        return f"\x1b]9;{title}: {body}\x07"
    if "VTE_VERSION" in env or term.startswith(("foot", "rxvt")):
        return f"\x1b]777;notify;{title};{body}\x1b\\"
    return ""


def worth_notifying(event: ev.StoredNotice, me: str) -> tuple[str, str] | None:
    """(title, body) for a message that should ring: a private message to us, or a room
    message that names us; None for anything else (ours, topics, other talk)."""
    if event.username.casefold() == me.casefold():
        return None
    if isinstance(event, ev.PrivateMessage):
        return f"{event.username} privately", event.message
    if isinstance(event, ev.ChatMessage) and mentions(event.message, me):
        return f"{event.username} in #{event.room}", event.message
    return None
