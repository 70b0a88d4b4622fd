"""The message pane of one conversation: a scrollable column of lines (one widget each).

One `MessageLog` per conversation, kept while the TUI runs, so switching rooms keeps each
one's scroll position. It holds messages in id order with a day separator wherever the day
changes, our own messages "sending" until the echo replaces them, and a "new messages"
marker where the user left off. Scrolling past the top (PageUp or the mouse wheel at the
top) asks for the page before (`NeedOlder`), which `prepend` puts in place without moving
what the user was reading.
"""

from __future__ import annotations

from textual import events
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from chinwag.client.state import Sending
from chinwag.protocol import events as ev
from chinwag.tui import render
from chinwag.tui.render import Clock


class Line(Static):
    """One line (or message) of a log; `message_id` for messages, `day` for separators."""

    DEFAULT_CSS = """
    Line { height: auto; width: 1fr; }
    Line.day, Line.marker { text-align: center; }
    Line.marker { color: $warning; }
    """

    def __init__(self, content: object, *, message_id: int = 0, day: str = "", **kw: str) -> None:
        super().__init__(content, **kw)  # type: ignore[arg-type]
        self.message_id = message_id
        self.day = day


class MessageLog(VerticalScroll):
    """See the module docstring; `me` is read at each message (we may be renamed)."""

    DEFAULT_CSS = "MessageLog { height: 1fr; padding: 0 1; }"

    class NeedOlder(Message):
        """The user scrolled past the top: ask for the page before."""

        def __init__(self, log: MessageLog) -> None:
            super().__init__()
            self.log = log

    def __init__(self, conversation: str, clock: Clock, me: list[str], id: str) -> None:
        super().__init__(id=id)
        self.conversation = conversation
        self.clock = clock
        self._me = me  # shared with the app: [our current name]
        self._ids: set[int] = set()
        self._pending: list[tuple[Sending, Line]] = []
        self.mark_next = False  # a "new messages" marker goes before the next message
        self._marker: Line | None = None
        self._day = ""  # the day of the newest message shown

    @property
    def at_bottom(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def _follow(self, widgets: list[Widget]) -> None:
        """Mount at the end; keep the newest in view if the user was looking at it."""
        stay = self.at_bottom
        self.mount_all(widgets)
        if stay:
            self.call_after_refresh(self.scroll_end, animate=False)

    def system(self, line: str) -> None:
        self._follow([Line(render.system(line), classes="system")])

    def add(self, notice: ev.StoredNotice) -> None:
        """A message (live or replayed); ours replaces its "sending" line; each once."""
        if notice.id > 0 and notice.id in self._ids:
            return
        self._ids.add(notice.id)
        self._confirm(notice)
        widgets: list[Widget] = []
        if self.mark_next:
            self.mark_next = False
            self._marker = Line(render.day_separator("new messages"), classes="marker")
            widgets.append(self._marker)
        day = self.clock.day(notice.timestamp)
        if day != self._day:
            self._day = day
            widgets.append(Line(render.day_separator(day), day=day, classes="day"))
        text = render.message(notice, self._me[0], self.clock)
        widgets.append(Line(text, message_id=notice.id, classes="message"))
        self._follow(widgets)

    def add_pending(self, sending: Sending, timestamp: float) -> None:
        """A message of ours on its way: greyed and marked until its echo comes."""
        notice = ev.ChatMessage(0, "", self._me[0], sending.text, timestamp)
        line = Line(render.message(notice, self._me[0], self.clock, pending=True))
        self._pending.append((sending, line))
        self._follow([line])

    def _confirm(self, notice: ev.StoredNotice) -> None:
        if not isinstance(notice, ev.ChatMessage | ev.PrivateMessage):
            return
        if notice.username.casefold() != self._me[0].casefold():
            return
        for sending, line in self._pending:
            if sending.text == notice.message:
                self._pending.remove((sending, line))
                line.remove()
                return

    def leave(self) -> None:
        """The user looks elsewhere: what arrives from now on is new (marked once)."""
        if self._marker is not None:
            self._marker.remove()
            self._marker = None
        self.mark_next = True

    def prepend(self, notices: tuple[ev.StoredNotice, ...]) -> None:
        """Older messages before what is shown, leaving the view where it was."""
        fresh = [n for n in notices if n.id not in self._ids]
        if not fresh:
            self.system_top("(the beginning of this conversation)")
            return
        self._ids.update(n.id for n in fresh)
        widgets: list[Widget] = []
        day = ""
        for notice in fresh:
            if self.clock.day(notice.timestamp) != day:
                day = self.clock.day(notice.timestamp)
                widgets.append(Line(render.day_separator(day), day=day, classes="day"))
            text = render.message(notice, self._me[0], self.clock)
            widgets.append(Line(text, message_id=notice.id, classes="message"))
        first = self._first_line()
        self._day = self._day or day
        if first is not None and first.day == day:
            first.remove()  # the page ends on the day the log began with: one separator
        from_bottom = self.max_scroll_y - self.scroll_y
        if first is None:
            self.mount_all(widgets)
        else:
            self.mount_all(widgets, before=0)
        self.call_after_refresh(self._keep, from_bottom)

    def system_top(self, line: str) -> None:
        first = self._first_line()
        if first is not None and first.has_class("top"):
            return
        widget = Line(render.system(line), classes="system top")
        if first is None:
            self.mount(widget)
        else:
            self.mount(widget, before=0)

    def _keep(self, from_bottom: float) -> None:
        self.scroll_to(y=max(0.0, self.max_scroll_y - from_bottom), animate=False)

    def _first_line(self) -> Line | None:
        lines = list(self.query_children(Line))
        return lines[0] if lines else None

    # ------------------------------------------------------------------ scrolling back

    def page_up(self) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.NeedOlder(self))
        else:
            self.scroll_page_up(animate=False)

    def page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.NeedOlder(self))
        super()._on_mouse_scroll_up(event)  # the scrolling itself
