"""The input line: history with Up/Down, Tab completion, a multi-line paste as one message.

Completion (`complete`, pure) looks at the word before the cursor: `/` at the start of the
line completes a command, `#` a room, anything else a name (a name with a space comes
quoted, for /msg; a name first on the line gets `: ` after it, as IRC clients do). Tab
again cycles through the candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from chinwag.client.commands import HELP, NAMES, quoted

HISTORY = 200  # lines kept for Up/Down


def complete(
    value: str, cursor: int, names: Sequence[str], rooms: Sequence[str]
) -> list[tuple[str, int]]:
    """Every completion of the word before `cursor`: (new value, new cursor) each."""
    start = value.rfind(" ", 0, cursor) + 1
    if value[:start].count('"') % 2:  # inside a quoted name: complete from its quote
        start = value.rfind('"', 0, cursor)
    word = value[start:cursor].lstrip('"').casefold()
    before, after = value[:start], value[cursor:]
    if start == 0 and value.startswith("/"):
        found = [f"/{n} " for n in NAMES if n.startswith(word[1:])]
    elif word.startswith("#"):
        found = [f"#{r} " for r in rooms if r.casefold().startswith(word[1:])]
    else:
        suffix = ": " if start == 0 else " "
        found = [quoted(n) + suffix for n in names if n.casefold().startswith(word)]
    return [(before + f + after.lstrip(" "), len(before + f)) for f in found]


class ChatInput(Input):
    """See the module docstring; `candidates()` gives the names and rooms to complete."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "older", "Previous line", show=False),
        Binding("down", "newer", "Next line", show=False),
        Binding("tab", "complete", "Complete", show=False, priority=True),
    ]

    class Pasted(Message):
        """Lines pasted at once (bracketed paste): one message."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(
        self, candidates: Callable[[], tuple[Sequence[str], Sequence[str]]], **kw: str
    ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.candidates = candidates
        self.history: list[str] = []
        self._back = 0  # how far back in the history Up has gone (0: the line being typed)
        self._draft = ""
        self._cycle: list[tuple[str, int]] = []
        self._cycled = -1

    def remember(self, line: str) -> None:
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history = [*self.history, line][-HISTORY:]
        self._back = 0

    def action_older(self) -> None:
        if self._back < len(self.history):
            if self._back == 0:
                self._draft = self.value
            self._back += 1
            self._show(self.history[-self._back])

    def action_newer(self) -> None:
        if self._back > 0:
            self._back -= 1
            self._show(self.history[-self._back] if self._back else self._draft)

    def _show(self, value: str) -> None:
        self.value = value
        self.cursor_position = len(value)

    def action_complete(self) -> None:
        if self._cycle and (self.value, self.cursor_position) == self._cycle[self._cycled]:
            self._cycled = (self._cycled + 1) % len(self._cycle)
        else:
            names, rooms = self.candidates()
            self._cycle = complete(self.value, self.cursor_position, names, rooms)
            self._cycled = 0
            if not self._cycle:
                self.app.bell()
                return
        self.value, cursor = self._cycle[self._cycled]
        self.cursor_position = cursor

    def _on_paste(self, event: events.Paste) -> None:
        # Terminals (and tmux) may hand lines over ended by CR: a line break all the same.
        pasted = event.text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if "\n" not in pasted:
            super()._on_paste(events.Paste(pasted))
            return
        event.stop()
        text = self.value + pasted
        self.value = ""
        self.post_message(self.Pasted(text))


def palette_commands() -> list[tuple[str, str, str]]:
    """(usage, what it does, `/name`) of every slash command, from the shared help text."""
    found = []
    for line in HELP.splitlines()[1:]:
        usage, _, help_text = line.strip().partition("  ")
        if usage.startswith("/"):
            found.append((usage, help_text.strip(), usage.split()[0].rstrip(",")))
    return found
