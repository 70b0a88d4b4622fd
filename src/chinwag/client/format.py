"""How the line client shows events: pure functions from an event to text lines (client
layer, no I/O).

Kept apart from the I/O so every rendering rule is tested without a terminal or a server.
Times are shown in the local time zone, as a person at the keyboard reads a clock.

Everything here is shown on a terminal, and names, topics and messages come from other
people (and everything from the server): every line is made inert (protocol/text.py), so
no escape sequence in them acts on the terminal, and each line of a multi-line message
after the first is led by `| ` under the message's header, so it cannot pass for a line
of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from chinwag.client.status import (
    ClientEvent,
    Closed,
    Disconnected,
    OlderHistory,
    Reconnected,
    Reconnecting,
)
from chinwag.protocol import events as ev
from chinwag.protocol.common import file_size
from chinwag.protocol.native_client import UnreadableNotice
from chinwag.protocol.sentences import describe_moderation
from chinwag.protocol.text import inert, message_lines


def clock(timestamp: float) -> str:
    """Unix seconds -> local HH:MM:SS (the current time when the server sent none)."""
    return time.strftime("%H:%M:%S", time.localtime(timestamp or time.time()))


def same_name(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


@dataclass(slots=True)
class View:
    """What rendering depends on: who we are and which room we look at."""

    me: str
    room: str

    def tag(self, room: str) -> str:
        """`#dev ` for a room other than the current one; nothing for the current one."""
        return "" if room.casefold() == self.room.casefold() else f"#{room} "


def stored_lines(notice: ev.StoredNotice, view: View) -> list[str]:
    prefix = f"[{clock(notice.timestamp)}] "
    if notice.history:
        prefix = "(history) " + prefix
    match notice:
        case ev.ChatMessage(deleted=True):
            return [f"{prefix}{view.tag(notice.room)}{notice.username}: (message deleted)"]
        case ev.ChatMessage():
            return said(f"{prefix}{view.tag(notice.room)}{notice.username}: ", notice.message)
        case ev.PrivateMessage():
            sender = "you" if same_name(notice.username, view.me) else notice.username
            target = "you" if same_name(notice.target, view.me) else notice.target
            lines = said(f"{prefix}[private] {sender} -> {target}: ", notice.message)
            if notice.away:  # our own copy: the target is away
                lines.append(f"* {notice.target} is away: {notice.away}")
            return lines
        case ev.TopicChanged():
            if not notice.topic:
                return [f"{prefix}* {notice.username} cleared the topic of #{notice.room}"]
            return [f"{prefix}* {notice.username} set the topic of #{notice.room}: {notice.topic}"]
        case ev.FileShared(deleted=True):
            return [
                f"{prefix}{view.tag(notice.room)}* (a file {notice.username} shared was deleted)"
            ]
        case ev.FileShared():
            size = file_size(notice.size)
            where = view.tag(notice.room)
            return [
                f"{prefix}{where}* {notice.username} shared {notice.name} ({size}): {notice.url}"
                f"  (/download {notice.id})"
            ]
    raise AssertionError(notice)  # pragma: no cover


def said(header: str, message: str) -> list[str]:
    """`header` + the message's first line, then each further line under it led by `| `."""
    first, *more = message_lines(message)
    indent = " " * max(0, len(inert(header)) - 2) + "| "
    return [header + first, *(indent + line for line in more)]


def _where(room: str) -> str:
    return "the chat" if room == ev.DEFAULT_ROOM else f"#{room}"


def names(users: tuple[str, ...], accounts: tuple[str, ...]) -> str:
    """`alice, bob (guest)`: the names not signed in to an account are marked as guests.

    Only when the list names at least one account: a server without accounts (or a list of
    guests only) sends none, and marking everyone would say nothing."""
    if not accounts:
        return ", ".join(users)
    signed_in = {name.casefold() for name in accounts}
    return ", ".join(u if u.casefold() in signed_in else f"{u} (guest)" for u in users)


def signed_in_lines(welcome: ev.Welcome) -> list[str]:
    """What a welcome says about who we are: the account, when signed in to one."""
    if welcome.account is None:
        return []
    return [f"* Signed in to the account {welcome.account}."]


def welcome_lines(welcome: ev.Welcome) -> list[str]:
    return [inert(line) for line in _welcome_lines(welcome)]


def _welcome_lines(welcome: ev.Welcome) -> list[str]:
    lines = [welcome.message or f"Welcome to the chat, {welcome.username}!"]
    lines += signed_in_lines(welcome)
    lines.append(f"Online: {names(welcome.users, welcome.accounts) or 'nobody'}")
    if len(welcome.rooms) > 1:
        lines.append(f"Your rooms: {', '.join('#' + r for r in welcome.rooms)}")
    lines.append("Type a message and press Enter. /help lists the commands, /quit leaves.")
    return lines


def event_lines(event: ClientEvent, view: View) -> list[str]:
    """The lines to print for one event (none for what the user need not see), inert."""
    return [inert(line) for line in _event_lines(event, view)]


def _event_lines(event: ClientEvent, view: View) -> list[str]:
    match event:
        case ev.ChatMessage() | ev.PrivateMessage() | ev.TopicChanged() | ev.FileShared():
            return stored_lines(event, view)
        case ev.UserJoined(room=room, username=name):
            return [f"--> {name} joined {_where(room)}"]
        case ev.UserLeft(room=room, username=name, reason=reason):
            why = f" ({reason})" if reason and reason != "left the room" else ""
            return [f"<-- {name} left {_where(room)}{why}"]
        case ev.UserRenamed(old=old, new=new):
            return [f"* {old} is now known as {new}"]
        case ev.UserAway(username=name, message=message):
            return [f"* {name} is away: {message}" if message else f"* {name} is back"]
        case ev.UserList(users=users, room=room, accounts=accounts):
            where = "Online" if room is None else f"In #{room}"
            lines = [f"{where} ({len(users)}): {names(users, accounts)}"]
            return lines + [f"  {a.username} is away: {a.message}" for a in event.away]
        case ev.RoomList(rooms=rooms, next=more):
            lines = [f"Rooms ({len(rooms)}):"]
            for info in rooms:
                topic = f" - {info.topic}" if info.topic else ""
                lines.append(f"  #{info.room} ({info.users} online){topic}")
            if more is not None:
                lines.append(f"  ... more: /rooms {more}")
            return lines
        case ev.RoomJoined(room=room, topic=topic, users=users, accounts=accounts):
            lines = [f"You are in #{room} ({len(users)} here: {names(users, accounts)})"]
            if topic:
                lines.append(f"Topic of #{room}: {topic}")
            if event.operators:
                lines.append(f"Operators of #{room}: {', '.join(event.operators)}")
            if event.voiced:
                lines.append(f"Voiced in #{room}: {', '.join(event.voiced)}")
            if event.modes:
                lines.append(f"#{room} is {', '.join(m.replace('_', ' ') for m in event.modes)}")
            return lines
        case ev.Moderated():
            return [f"*** {describe_moderation(event)}"]
        case ev.Deleted(id=number, room=room, by=by):
            where = f" in #{room}" if room else ""
            return [f"* {by} deleted message {number}{where}"]
        case ev.Announcement(username=name, message=message):
            return [f"*** Announcement from {name}: {message}"]
        case ev.AuditLog(entries=entries, room=room):
            lines = [f"--- Moderation log{' of #' + room if room else ''} ({len(entries)}) ---"]
            for e in entries:
                target = f" {e.target}" if e.target else ""
                where = f" in #{e.room}" if e.room else ""
                reason = f" ({e.reason})" if e.reason else ""
                lines.append(f"[{clock(e.timestamp)}] #{e.id} {e.actor} {e.action}{target}"
                             f"{where}{reason}")  # fmt: skip
            lines.append("--- end ---")
            return lines
        case ev.RoomLeft(room=room):
            return [f"You left #{room}"]
        case ev.HistoryPage(room=room, messages=messages, with_=str() as other):
            return _page(f"Private messages with {other}", messages, view)
        case ev.HistoryPage(room=room, messages=messages):
            return _page(f"History of #{room}", messages, view)
        case ev.SearchResults(room=room, query=query, messages=messages):
            return _page(f"Search in #{room} for {query!r}", messages, view)
        case ev.Error(message=message):
            return [f"! {message}"]
        case ev.Goodbye(message=message):
            return [f"* Server: {message}"] if message else []
        case ev.Done(message=message):
            return [f"* {message}"]
        case ev.Welcome():
            return _welcome_lines(event)
        case ev.PongReply() | ev.KeepAlive() | OlderHistory():
            return []
        case UnreadableNotice(reason=reason):
            return [f"! The server sent something this client cannot read ({reason})"]
        case Disconnected(reason=reason, reconnecting=reconnecting):
            return [f"! Connection lost: {reason}" + ("" if reconnecting else ".")]
        case Reconnecting(attempt=attempt, max_attempts=most, delay=delay, server=server):
            of = f"/{most}" if most is not None else ""
            to = f" to {server}" if server else ""
            return [f"* Reconnecting{to} in {delay:.1f} s (attempt {attempt}{of})..."]
        case Reconnected():
            return ["* Reconnected; what was said meanwhile follows."]
        case Closed(reason=reason, by_user=by_user):
            return [] if by_user else [f"! Disconnected: {reason}"]
    return []  # pragma: no cover - every event type is matched above


def _page(title: str, messages: tuple[ev.StoredNotice, ...], view: View) -> list[str]:
    if not messages:
        return [f"{title}: nothing found"]
    # Inside a page every message is history by definition; the marker would be noise.
    lines = [f"--- {title} ({len(messages)} messages) ---"]
    for message in messages:
        lines += stored_lines(_live(message), view)
    lines.append("--- end ---")
    return lines


def _live(message: ev.StoredNotice) -> ev.StoredNotice:
    return replace(message, history=False) if message.history else message
