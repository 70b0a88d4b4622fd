"""What a chat looks like from one client: its conversations and what is unread (no I/O).

Every front end (the line client, the TUI, the web page) needs the same bookkeeping, so it
lives here, fed by `ChatState.apply(event)` for each event of the stream (ChatClient does
that before handing the event on):

- one `Conversation` per room we are in and per person we exchanged private messages with,
  keyed by `key()` (`#dev`, `@bob`, case-folded);
- a room's topic and members, each with whether it is a guest (when the server said) and
  its role in the room (`operator`, `voice`);
- unread and mention counts of the conversations not in view, and the id of the last
  message read in each (where a "new messages" marker goes);
- the messages it holds (bounded), the oldest id (where paging back starts) and whether
  the server has anything older;
- our own messages "sending" until the server's echo says they are stored.

Counting rules: a message counts as unread when its conversation is not in view, it is not
ours, and it is live or was missed (a replay after a reconnect, newer than what we had
seen). The recent history replayed on joining a room is context, not news: never counted.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from chinwag.protocol import events as ev
from chinwag.protocol.events import DEFAULT_ROOM

KEEP_MESSAGES = 2000  # per conversation: a front end shows them, the server keeps the rest


def key(name: str, private: bool = False) -> str:
    """A conversation's key: `#room` or `@person`, case-folded (names compare so)."""
    return ("@" if private else "#") + name.lstrip("#").casefold()


def mentions(text: str, name: str) -> bool:
    """Whether `text` names `name` as a word (`bob:`, `@bob`, `hi bob!`, not `bobby`)."""
    if not name:
        return False
    pattern = r"(?<![\w])@?" + re.escape(name.casefold()) + r"(?![\w])"
    return re.search(pattern, text.casefold()) is not None


@dataclass(slots=True)
class Member:
    name: str
    guest: bool | None = None  # None: the server has not said (a later joiner)
    role: str = ""  # "operator", "voice" or "" in this room


@dataclass(slots=True)
class Sending:
    """A message of ours that the server has not echoed yet."""

    key: str
    text: str


@dataclass(slots=True)
class Conversation:
    key: str
    name: str  # as the server spells it (a room without #, a person's name)
    private: bool = False
    topic: str = ""
    members: dict[str, Member] = field(default_factory=dict)  # case-folded name -> Member
    messages: deque[ev.StoredNotice] = field(default_factory=lambda: deque(maxlen=KEEP_MESSAGES))
    unread: int = 0
    mentioned: int = 0
    last_read: int = 0  # the newest id read while in view
    more_before: bool = True  # the server may have older messages
    paging: bool = False  # a page of older messages was asked for

    @property
    def oldest(self) -> int | None:
        ids = [m.id for m in self.messages if m.id > 0]
        return min(ids) if ids else None

    def sorted_members(self) -> list[Member]:
        rank = {"operator": 0, "voice": 1, "": 2}
        return sorted(self.members.values(), key=lambda m: (rank[m.role], m.name.casefold()))


class ChatState:
    """Conversations, members and counts, updated from events; see the module docstring."""

    def __init__(self) -> None:
        self.me = ""
        self.conversations: dict[str, Conversation] = {}
        self.in_view: str | None = None
        self.sending: list[Sending] = []
        self.online: dict[str, Member] = {}  # everyone online (the members of general)
        self._counted_after = 0  # replayed messages above this id were missed: count them

    # ------------------------------------------------------------------ the front end's side

    def view(self, conversation: str) -> Conversation:
        """The conversation the user now looks at: its counts are reset, it is read."""
        found = self.conversations.get(conversation) or self._open(conversation)
        self.in_view = found.key
        found.unread = found.mentioned = 0
        found.last_read = max([found.last_read, *(m.id for m in found.messages)])
        return found

    def send(self, room_or_person: str, text: str, private: bool = False) -> Sending:
        """Note a message of ours on its way; it is `sending` until the echo."""
        pending = Sending(key(room_or_person, private), text)
        self.sending.append(pending)
        return pending

    def rooms(self) -> list[Conversation]:
        return [c for c in self.conversations.values() if not c.private]

    def people(self) -> list[Conversation]:
        return [c for c in self.conversations.values() if c.private]

    def names(self) -> list[str]:
        """Every name we know of (members of our rooms, people online): for completion."""
        seen: dict[str, str] = {m.name.casefold(): m.name for m in self.online.values()}
        for conversation in self.conversations.values():
            seen.update((m.name.casefold(), m.name) for m in conversation.members.values())
            if conversation.private:
                seen.setdefault(conversation.name.casefold(), conversation.name)
        return sorted(seen.values(), key=str.casefold)

    # ------------------------------------------------------------------ events

    def welcome(self, welcome: ev.Welcome) -> None:
        self.me = welcome.username
        self._counted_after = max(self._counted_after, welcome.last_id)
        rooms = welcome.rooms or (DEFAULT_ROOM,)
        for gone in [c for c in self.rooms() if c.name.casefold() not in map(str.casefold, rooms)]:
            del self.conversations[gone.key]
        for room in rooms:
            self._open(key(room)).name = room
        self.online = _members(welcome.users, welcome.accounts)
        self._open(key(DEFAULT_ROOM)).members = dict(self.online)

    def reconnected(self, since: int) -> None:
        """What the replay after a reconnect brings (ids above `since`) was missed: count it."""
        self._counted_after = since

    def apply(self, event: object) -> Conversation | None:
        """Update from one event; the conversation it changed, if any."""
        found: Conversation | None
        match event:
            case ev.Welcome():
                self.welcome(event)
                return None
            case ev.ChatMessage() | ev.PrivateMessage() | ev.TopicChanged() | ev.FileShared():
                return self._stored(event)
            case ev.RoomJoined():
                found = self._open(key(event.room))
                found.name, found.topic = event.room, event.topic
                found.members = _members(event.users, event.accounts)
                for name, role in [(n, "voice") for n in event.voiced] + [
                    (n, "operator") for n in event.operators
                ]:
                    if name.casefold() in found.members:
                        found.members[name.casefold()].role = role
                return found
            case ev.RoomLeft(room=room):
                self._close(key(room))
                return None
            case ev.UserJoined(room=room, username=name):
                found = self.conversations.get(key(room))
                if found is not None:
                    found.members.setdefault(name.casefold(), Member(name))
                if room.casefold() == DEFAULT_ROOM:
                    self.online.setdefault(name.casefold(), Member(name))
                return found
            case ev.UserLeft(room=room, username=name):
                found = self.conversations.get(key(room))
                if found is not None:
                    found.members.pop(name.casefold(), None)
                if room.casefold() == DEFAULT_ROOM:
                    self.online.pop(name.casefold(), None)
                return found
            case ev.UserRenamed(old=old, new=new):
                self._renamed(old, new)
                return None
            case ev.UserList(room=str() as room, users=users, accounts=accounts):
                found = self.conversations.get(key(room))
                if found is not None:
                    roles = {k: m.role for k, m in found.members.items()}
                    found.members = _members(users, accounts)
                    for k, member in found.members.items():
                        member.role = roles.get(k, "")
                return found
            case ev.Moderated(action="role", room=str() as room, username=str() as who):
                found = self.conversations.get(key(room))
                if found is not None and who.casefold() in found.members:
                    role = event.role if event.role in ("operator", "voice") else ""
                    found.members[who.casefold()].role = role
                return found
            case ev.Moderated(action="kick" | "ban", room=str() as room, username=str() as who):
                found = self.conversations.get(key(room))
                if who.casefold() == self.me.casefold():
                    self._close(key(room))
                    return None
                if found is not None:
                    found.members.pop(who.casefold(), None)
                return found
        return None

    def older(self, conversation: str, page: ev.HistoryPage) -> Conversation | None:
        """A page of older messages asked for by paging back: put it before what we hold."""
        found = self.conversations.get(conversation)
        if found is None:
            return None
        found.paging = False
        have = {m.id for m in found.messages}
        fresh = [m for m in page.messages if m.id not in have]
        if not fresh:
            found.more_before = False
        found.messages.extendleft(reversed(fresh))
        return found

    # ------------------------------------------------------------------ inside

    def _open(self, conversation: str) -> Conversation:
        found = self.conversations.get(conversation)
        if found is None:
            name = conversation[1:]
            found = Conversation(conversation, name, private=conversation.startswith("@"))
            self.conversations[conversation] = found
        return found

    def _close(self, conversation: str) -> None:
        self.conversations.pop(conversation, None)
        if self.in_view == conversation:
            self.in_view = None

    def _stored(self, event: ev.StoredNotice) -> Conversation:
        if isinstance(event, ev.PrivateMessage):
            other = event.target if _same(event.username, self.me) else event.username
            found = self._open(key(other, private=True))
            found.name = other
        else:
            found = self._open(key(event.room))
            if isinstance(event, ev.TopicChanged):
                found.topic = event.topic
        ours = _same(event.username, self.me)
        if ours and isinstance(event, ev.ChatMessage | ev.PrivateMessage):
            self._echoed(found.key, event.message)
        found.messages.append(event)
        if found.key == self.in_view:
            found.last_read = max(found.last_read, event.id)
        elif not ours and (not event.history or event.id > self._counted_after):
            found.unread += 1
            text = _text_of(event)
            if isinstance(event, ev.PrivateMessage) or mentions(text, self.me):
                found.mentioned += 1
        return found

    def _echoed(self, conversation: str, text: str) -> None:
        for pending in self.sending:
            if pending.key == conversation and pending.text == text:
                self.sending.remove(pending)
                return

    def _renamed(self, old: str, new: str) -> None:
        if _same(old, self.me):
            self.me = new
        for members in [self.online, *(c.members for c in self.conversations.values())]:
            member = members.pop(old.casefold(), None)
            if member is not None:
                member.name = new
                members[new.casefold()] = member


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _members(users: tuple[str, ...], accounts: tuple[str, ...]) -> dict[str, Member]:
    """Members from a list of names; guests are marked only when the list names accounts
    (a server without accounts sends none, and marking everyone would say nothing)."""
    signed_in = {a.casefold() for a in accounts}
    return {
        u.casefold(): Member(u, guest=(u.casefold() not in signed_in) if accounts else None)
        for u in users
    }


def _text_of(event: ev.StoredNotice) -> str:
    """What a stored message says, for mentions (a shared file: its name)."""
    if isinstance(event, ev.TopicChanged):
        return event.topic
    if isinstance(event, ev.FileShared):
        return event.name
    return event.message
