"""Moderation slash commands: typed text -> the command to send (client layer, no I/O).

One parser for every front end that reads slash commands (the line client today). A room
is named only by a leading `#` (`/kick #dev bob spam`); without one the command acts in
the room the user is looking at. `*` in its place means the whole server (`/ban * bob`).
Durations are `90`, `90s`, `10m`, `2h` or `7d`. A name with spaces (a server-given guest
name) is written in double quotes: `/kick "Client 2" spam`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chinwag.protocol import events as ev

HELP = """Moderation (operators of a room; * means the whole server, for moderators):
  /kick [#ROOM] NAME [reason]              make NAME leave the room
  /ban [#ROOM|*] NAME [DURATION] [reason]  keep NAME out (DURATION: 90s, 10m, 2h, 7d)
  /unban [#ROOM|*] NAME                    lift a ban
  /mute [#ROOM] NAME [DURATION] [reason]   stop NAME talking in the room
  /unmute [#ROOM] NAME                     lift a mute
  /invite NAME [#ROOM]                     let NAME into an invite-only room
  /op NAME, /deop NAME                     make NAME an operator here, or not (owners)
  /voice NAME, /devoice NAME               let NAME speak in a moderated room, or not
  /mode [#ROOM] +i|-i +m|-m +t|-t          invite-only, moderated, topic locked
  /delete ID                               delete a message (yours, or as an operator)
  /role NAME admin|moderator|member        a server role (admins)
  /announce text                           a message to everyone online (admins)
  /audit [#ROOM|*]                         the moderation log"""

COMMANDS = frozenset(
    {"kick", "ban", "unban", "mute", "unmute", "invite", "op", "deop", "voice", "devoice",
     "mode", "delete", "role", "announce", "audit"}
)  # fmt: skip

_DURATION = re.compile(r"(\d{1,9})([smhd]?)", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MODES = {"i": "invite_only", "m": "moderated", "t": "topic_locked"}
_ROLES = {"op": "operator", "deop": "member", "voice": "voice", "devoice": "member"}


@dataclass(frozen=True, slots=True)
class Usage:
    """The typed line could not be read: what to tell the user."""

    text: str


def split(text: str) -> list[str]:
    """The words of `text`; a name in double quotes may hold spaces (`"Client 2"`)."""
    found: list[str] = []
    rest = text.strip()
    while rest:
        end = rest.find('"', 1) if rest.startswith('"') else -1
        if end > 1:
            word, rest = rest[1:end], rest[end + 1 :]
        else:
            word, _, rest = rest.partition(" ")
        found.append(word)
        rest = rest.lstrip()
    return found


def duration(word: str) -> int | None:
    """`10m` -> 600; None when the word is not a duration."""
    match = _DURATION.fullmatch(word)
    if match is None:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _place(words: list[str], current: str) -> tuple[str | None, list[str]]:
    """The room a command names first (`#dev`, `*` for the server), else the current one."""
    if words and words[0] == "*":
        return None, words[1:]
    if words and words[0].startswith("#") and len(words[0]) > 1:
        return words[0][1:], words[1:]
    return current, words


def parse(name: str, rest: str, room: str) -> ev.Command | Usage:
    """The command for `/name rest`, typed while looking at `room`."""
    words = split(rest)
    match name:
        case "kick" | "mute" | "ban":
            where, words = _place(words, room)
            if not words or (where is None and name != "ban"):
                return Usage(_usage(name))
            target, more = words[0], words[1:]
            seconds = duration(more[0]) if more and name != "kick" else None
            reason = " ".join(more[1:] if seconds is not None else more)
            if name == "kick":
                return ev.Kick(where or room, target, reason)
            if name == "mute":
                return ev.Mute(where or room, target, seconds, reason)
            return ev.Ban(target, where, seconds, reason)
        case "unban" | "unmute":
            where, words = _place(words, room)
            if len(words) != 1 or (where is None and name == "unmute"):
                return Usage(_usage(name))
            if name == "unban":
                return ev.Unban(words[0], where)
            return ev.Unmute(where or room, words[0])
        case "invite":
            if not words or len(words) > 2:
                return Usage(_usage(name))
            return ev.Invite(words[1].lstrip("#") if len(words) == 2 else room, words[0])
        case "op" | "deop" | "voice" | "devoice":
            where, words = _place(words, room)
            if len(words) != 1 or where is None:
                return Usage(_usage(name))
            return ev.SetRole(words[0], _ROLES[name], where)
        case "mode":
            return _mode(words, room)
        case "delete":
            if len(words) != 1 or not words[0].lstrip("#").isdigit():
                return Usage("Usage: /delete ID (the number a message has in /history)")
            return ev.DeleteMessage(int(words[0].lstrip("#")))
        case "role":
            if len(words) != 2:
                return Usage("Usage: /role NAME admin|moderator|member")
            return ev.SetRole(words[0], words[1].lower())
        case "announce":
            if not rest.strip():
                return Usage("Usage: /announce text")
            return ev.Announce(rest.strip())
        case "audit":
            where, words = _place(words, room)
            if words:
                return Usage("Usage: /audit [#ROOM|*]")
            return ev.Audit(where)
    return Usage(f"Unknown command /{name}")


def _mode(words: list[str], room: str) -> ev.Command | Usage:
    where, words = _place(words, room)
    if where is None or not words:
        return Usage(_usage("mode"))
    flags: dict[str, bool] = {}
    for word in words:
        if len(word) < 2 or word[0] not in "+-":
            return Usage(_usage("mode"))
        for letter in word[1:]:
            mode = _MODES.get(letter.lower())
            if mode is None:
                return Usage(f"Unknown mode {letter}: i (invite-only), m (moderated), t (topic)")
            flags[mode] = word[0] == "+"
    return ev.RoomMode(
        where, flags.get("invite_only"), flags.get("moderated"), flags.get("topic_locked")
    )


def _usage(name: str) -> str:
    for line in HELP.splitlines():
        if line.lstrip().startswith(f"/{name} ") or line.lstrip().startswith(f"/{name},"):
            return "Usage: " + line.strip().split("  ")[0]
    return f"Usage: /{name}"  # pragma: no cover - every command has a help line
