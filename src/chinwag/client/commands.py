"""Slash commands: one typed line -> what to do (client layer, no I/O).

The one parser of every front end that reads typed lines (the line client and the TUI):
`parse(line, room)` gives an action, and the front end carries it out (the commands that
only send something are `Send`, ready to go; the others need the front end: a question for
a password, a switch of room, a help text). Moderation commands are read by
chinwag.client.moderation, through here.

A room before text is taken only when it starts with `#`: `/topic Dev talk` while in #dev
sets the current room's topic to "Dev talk". A name with spaces (a server-given guest name
such as `Client 2`) is written in double quotes: `/msg "Client 2" hi`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chinwag.client import moderation
from chinwag.client.moderation import Usage
from chinwag.protocol import events as ev

HISTORY_DEFAULT = 20

HELP = """Commands:
  /help                  this list
  /quit, /exit, /q       leave the chat
  /ping                  measure the round-trip time to the server
  /users [#ROOM]         who is online (or in a room)
  /msg NAME text         a private message to NAME ("Client 2" in quotes)
  /rooms [AFTER]         rooms, with member counts and topics (a page at a time)
  /join ROOM             join (or create) a room and talk there
  /leave [ROOM]          leave a room (default: the current one)
  /switch ROOM           talk in another room you are in
  /topic [#ROOM] text    set the topic of the current room (or of #ROOM)
  /history [#ROOM] [N]   the last N messages of the current room or #ROOM (default 20)
  /search [#ROOM] words  search the history of the current room (or of #ROOM)
  /nick NAME             change your name (guests)
  /away [MESSAGE]        mark yourself away (others see the message); /away alone: back
  /register [NAME]       make NAME (default: your name) an account; asks for a password
  /login [NAME]          sign in to your account (asks for its password)
  /logout                sign out, forget the saved login, and leave
  /password              change your account's password
  /upload PATH           share a file in the current room (accounts)
  /download ID [PATH]    save a shared file (ID as shown after it)
  /help moderation       the moderation commands (/kick, /ban, /mute, /mode, ...)
A room given before text needs its #: /topic Dev talk sets the current room's topic.
Anything else is sent to the current room; start it with // to send a leading /."""

__all__ = ["HELP", "NAMES", "Usage", "parse"]


@dataclass(frozen=True, slots=True)
class Say:
    """Text to the current conversation."""

    text: str


@dataclass(frozen=True, slots=True)
class Send:
    """A command to send as it is; `paced` when the server counts it as a message."""

    command: ev.Command
    paced: bool = False


@dataclass(frozen=True, slots=True)
class Msg:
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class JoinRoom:
    """Join `room`, or switch to it when we are in it already."""

    room: str


@dataclass(frozen=True, slots=True)
class Switch:
    room: str  # empty: the user gave none


@dataclass(frozen=True, slots=True)
class Help:
    moderation: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """`register`, `login` (for `name`, default ours), `logout` or `password`: these ask
    questions (passwords), which only the front end can."""

    action: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    """Share the file at `path` in the current room (over the server's web port)."""

    path: str


@dataclass(frozen=True, slots=True)
class Download:
    """Save the shared file `id` to `path` ("" : the current folder)."""

    id: int
    path: str = ""


@dataclass(frozen=True, slots=True)
class Simple:
    """`quit` or `ping`."""

    action: str


Action = Say | Send | Msg | JoinRoom | Switch | Help | Account | Upload | Download | Simple | Usage

_OWN = ("help", "quit", "exit", "q", "ping", "users", "msg", "rooms", "join", "leave",
        "switch", "topic", "history", "search", "nick", "register", "login", "logout",
        "password", "upload", "download", "away")  # fmt: skip
NAMES = tuple(sorted({*_OWN, *moderation.COMMANDS} - {"exit", "q"}))  # for completion


def parse(line: str, room: str) -> Action | None:
    """What the typed `line` asks for, typed while looking at `room`; None for a blank line."""
    if not line.strip():
        return None
    if line.startswith("//"):
        return Say(line[1:])
    if not line.startswith("/"):
        return Say(line)
    name, _, rest = line[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name in moderation.COMMANDS:
        command = moderation.parse(name, rest, room)
        return command if isinstance(command, Usage) else Send(command)
    return _own(name, rest, room)


def _own(name: str, rest: str, room: str) -> Action:
    match name:
        case "quit" | "exit" | "q" | "ping":
            return Simple("quit" if name != "ping" else "ping")
        case "help":
            return Help(moderation=rest.lower().startswith("mod"))
        case "users":
            return Send(ev.ListUsers(rest.lstrip("#") or None))
        case "msg":
            target, text = first_word(rest)
            if not target or not text.strip():
                return Usage("Usage: /msg NAME text")
            return Msg(target, text.strip())
        case "rooms":
            return Send(ev.ListRooms(rest or None))
        case "join":
            joined = rest.lstrip("#").strip()
            return JoinRoom(joined) if joined and " " not in joined else Usage("Usage: /join ROOM")
        case "leave":
            return Send(ev.LeaveRoom(rest.lstrip("#").strip() or room))
        case "switch":
            return Switch(rest.lstrip("#").strip())
        case "topic":
            where, text = room_and_rest(rest, room)
            return Send(ev.SetTopic(where, text), paced=True) if text else _usage("topic")
        case "history":
            return _history(rest, room)
        case "search":
            where, words = room_and_rest(rest, room)
            return Send(ev.Search(where, words)) if words else _usage("search")
        case "nick":
            return Send(ev.Rename(rest)) if rest and " " not in rest else Usage("Usage: /nick NAME")
        case "away":
            return Send(ev.Away(rest or None))
        case "register" | "login":
            if " " in rest:
                return Usage(f"Usage: /{name} [NAME]")
            return Account(name, rest or None)
        case "logout" | "password":
            return Account(name)
        case "upload":
            return Upload(rest) if rest else Usage("Usage: /upload PATH (a file)")
        case "download":
            number, _, where = rest.partition(" ")
            if not number.isdigit():
                return Usage("Usage: /download ID [PATH] (ID: the number after a shared file)")
            return Download(int(number), where.strip())
    return Usage(f"! Unknown command /{name}. Type /help for the list of commands.")


def _history(rest: str, room: str) -> Action:
    where, text = room_and_rest(rest, room)
    try:
        count = int(text) if text else HISTORY_DEFAULT
    except ValueError:
        count = 0
    if count <= 0:
        return Usage("Usage: /history [#ROOM] [N] (N a positive number)")
    return Send(ev.History(where, limit=count))


def room_and_rest(rest: str, room: str) -> tuple[str, str]:
    """An optional room before the rest of a command, taken only when it starts with `#`:
    `/topic Dev talk` while in #dev is the topic "Dev talk" of the current room."""
    first, _, text = rest.strip().partition(" ")
    if first.startswith("#") and first.strip("#"):
        return first.strip("#"), text.strip()
    return room, rest.strip()


def first_word(text: str) -> tuple[str, str]:
    """The first word and the rest; a word in double quotes may hold spaces."""
    text = text.lstrip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end > 1:
            return text[1:end], text[end + 1 :].lstrip()
    word, _, rest = text.partition(" ")
    return word, rest


def quoted(name: str) -> str:
    """A name as a command takes it: in double quotes when it holds a space."""
    return f'"{name}"' if " " in name else name


def _usage(name: str) -> Usage:
    for line in HELP.splitlines():
        if line.lstrip().startswith(f"/{name} "):
            return Usage("Usage: " + line.strip().split("  ")[0])
    return Usage(f"Usage: /{name}")  # pragma: no cover - every command has a help line
