"""What the TUI shows, as Rich `Text` built piece by piece (pure functions, no widgets).

Other people's text never acts on the terminal and never acts on Rich either: every piece
is made inert first (protocol/text.py: escape sequences, BEL, bidi overrides shown
escaped), and `Text` objects are built with `append`, so `[bold red]` in a message is
shown as typed: nothing here goes through Rich's markup parser.

The safe Markdown subset of the web page: `**bold**`, `*italics*` or `_italics_`, and
`` `code` ``; `http(s)://` links are made clickable (where the terminal supports OSC 8).
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from chinwag.client.state import Conversation, Member, mentions
from chinwag.protocol import events as ev
from chinwag.protocol.common import file_size
from chinwag.protocol.text import inert, message_lines

# Names keep their colour across runs and machines: a CRC of the case-folded name picks
# from colours readable on dark and light backgrounds (never the mention or system ones).
PALETTE = (
    "#e06c75", "#98c379", "#d19a66", "#61afef", "#c678dd", "#56b6c2",
    "#be5046", "#7ec699", "#e5c07b", "#8fa1f0", "#f08fc0", "#4fb0a5",
)  # fmt: skip
MENTION = Style(bgcolor="#5c3c00", bold=True)
SYSTEM = Style(color="#8a8a8a", italic=True)
PENDING = Style(color="#8a8a8a", dim=True)
_MARKDOWN = re.compile(
    r"(?P<code>`[^`]+`)|(?P<bold>\*\*[^*]+\*\*)|(?P<em>(?<![\w*])\*[^*\s][^*]*\*(?!\w)"
    r"|(?<!\w)_[^_\s][^_]*_(?!\w))|(?P<link>https?://[^\s<>\"'`]+)"
)


@dataclass(frozen=True, slots=True)
class Clock:
    """How times and days read; tests pass fixed ones so screenshots do not change."""

    time: Callable[[float], str]
    day: Callable[[float], str]


def local_time(timestamp: float) -> str:
    return time.strftime("%H:%M", time.localtime(timestamp or time.time()))


def local_day(timestamp: float) -> str:
    return time.strftime("%A %d %B %Y", time.localtime(timestamp or time.time()))


LOCAL = Clock(local_time, local_day)


def name_colour(name: str) -> str:
    return PALETTE[zlib.crc32(name.casefold().encode()) % len(PALETTE)]


def name_text(name: str) -> Text:
    return Text(inert(name), style=Style(color=name_colour(name), bold=True))


def markdown(line: str, base: Style | None = None) -> Text:
    """One line of a message (already inert) with the safe Markdown subset applied."""
    text = Text(style=base or Style())
    at = 0
    for match in _MARKDOWN.finditer(line):
        text.append(line[at : match.start()])
        piece = match.group()
        if match.group("code"):
            text.append(piece[1:-1], style=Style(color="#e5c07b", bgcolor="#303030"))
        elif match.group("bold"):
            text.append(piece[2:-2], style=Style(bold=True))
        elif match.group("em"):
            text.append(piece[1:-1], style=Style(italic=True))
        else:
            text.append(piece, style=Style(underline=True, link=piece))
        at = match.end()
    text.append(line[at:])
    return text


def message(notice: ev.StoredNotice, me: str, clock: Clock, pending: bool = False) -> Text:
    """One stored message as it shows in the log: time, coloured name, text; a mention of
    us highlighted; further lines of a multi-line message indented under the first."""
    stamp = Text(clock.time(notice.timestamp) + " ", style=SYSTEM)
    match notice:
        case ev.TopicChanged(username=who, topic=topic):
            said = f" set the topic: {topic}" if topic else " cleared the topic"
            return Text.assemble(stamp, "* ", name_text(who), Text(inert(said), style=SYSTEM))
        case ev.ChatMessage(deleted=True, username=who):
            return Text.assemble(stamp, name_text(who), Text(" (message deleted)", style=SYSTEM))
        case ev.FileShared(deleted=True, username=who):
            gone = Text(inert(f" (a file {who} shared was deleted)"), style=SYSTEM)
            return Text.assemble(stamp, "*", gone)
        case ev.FileShared(username=who):
            shared = f" shared {notice.name} ({file_size(notice.size)}): {notice.url}"
            hint = f"  (/download {notice.id})"
            return Text.assemble(
                stamp, "* ", name_text(who), Text(inert(shared + hint), style=SYSTEM)
            )
    assert isinstance(notice, ev.ChatMessage | ev.PrivateMessage)
    theirs = notice.username.casefold() != me.casefold()
    style = PENDING if pending else (MENTION if theirs and mentions(notice.message, me) else None)
    header = Text.assemble(stamp, name_text(notice.username), ": ")
    first, *more = message_lines(notice.message)
    text = Text.assemble(header, markdown(first, style))
    indent = " " * max(0, header.cell_len - 2) + "| "
    for line in more:
        text.append("\n" + indent, style=SYSTEM)
        text.append_text(markdown(line, style))
    if pending:
        text.append("  (sending)", style=SYSTEM)
    return text


def system(line: str) -> Text:
    """A line from the client or the server (help, errors, joins): inert, never markup."""
    return Text(inert(line), style=SYSTEM)


def day_separator(day: str) -> Text:
    return Text(f"── {day} ──", style=Style(color="#8a8a8a", bold=True), justify="center")


def sidebar_label(conversation: Conversation) -> Text:
    """`#dev  3 @1`: the name, then the unread count and the mentions among them."""
    prefix = "@" if conversation.private else "#"
    text = Text(prefix + inert(conversation.name), style=Style(bold=conversation.unread > 0))
    if conversation.unread:
        text.append(f" {conversation.unread}", style=Style(color="#61afef", bold=True))
    if conversation.mentioned:
        text.append(f" @{conversation.mentioned}", style=Style(color="#e06c75", bold=True))
    return text


def member_label(member: Member) -> Text:
    """`@alice` (operator), `+bob` (voice), `carol (guest)`."""
    sigil = {"operator": "@", "voice": "+"}.get(member.role, " ")
    text = Text.assemble(sigil, name_text(member.name))
    if member.guest:
        text.append(" (guest)", style=SYSTEM)
    return text
