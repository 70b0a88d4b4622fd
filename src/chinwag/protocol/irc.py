"""The IRC dialect (RFC 1459 / RFC 2812 with IRCv3 capabilities): irssi, WeeChat, HexChat.

Input is a table, after ergo: command -> (handler, usable before registration, fewest
parameters), with the preconditions (451, 461) checked once. Handlers turn IRC into the
engine's commands: PRIVMSG #dev is a `Chat` in room dev, JOIN a `JoinRoom`, MODE +o a
`SetRole`. Each command the codec emits is recorded with its context (`Ctx`), which the
connection selects as it runs the command (`running`), so that the engine's answers
render as the numerics that command expects (irc_render.py).

Registration: NICK and USER (and PASS, the password of the nick's account), with CAP
negotiation held open by CAP LS / CAP REQ until CAP END. SASL PLAIN signs in to a chinwag
account: the join is made when the credentials arrive (NICK and USER being known), and its
welcome is 900, 903 and the registration burst; a later CAP END changes nothing. A guest
is registered with its nick at CAP END (or at USER without CAP).

Lines: at most 512 bytes without tags (and 8191 of tags), else 417; never decoded to a
raise (bytes that are not UTF-8 become U+FFFD).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from chinwag.protocol import events as ev
from chinwag.protocol import irc_numerics as rpl
from chinwag.protocol.irc_names import clean, from_nick, room_of, valid_room
from chinwag.protocol.irc_render import (
    CAP_HISTORY,
    CAP_SASL,
    CAP_VALUES,
    CAPS,
    HISTORY_LIMIT,
    LIST_LIMIT,
    SERVER,
    Ctx,
    IrcRenderer,
    numeric,
)
from chinwag.protocol.irc_wire import MAX_LINE, MAX_TAGS, build, parse, split_sizes

_REGISTERING, _JOINING, _REGISTERED = 0, 1, 2
SASL_CHUNK = 400  # AUTHENTICATE carries base64 in pieces of 400 bytes
SASL_MAX = 1600
WHOWAS_LIMIT = 50  # entries when WHOWAS gives no count (the engine's most)
ROLE_LETTERS = {"o": "operator", "v": "voice"}
FLAG_LETTERS = {"i": "invite_only", "m": "moderated", "t": "topic_locked"}

Handler = Callable[["IrcCodec", tuple[str, ...]], None]


class IrcCodec(IrcRenderer):
    """One IRC connection: its registration, capabilities and the context of its commands."""

    dialect = "irc"
    __slots__ = (
        "_batches",
        "_cap_open",
        "_channels",
        "_password",
        "_pending",
        "_sasl",
        "_sasl_buf",
        "_stage",
        "_user",
    )
    # IRC command -> (handler, usable before registration, fewest parameters)
    table: ClassVar[dict[str, tuple[Handler, bool, int]]] = {}

    def __init__(self) -> None:
        super().__init__()
        self._stage = _REGISTERING
        self._user = False
        self._cap_open = False
        self._password: str | None = None
        self._sasl: tuple[str, str] | None = None
        self._sasl_buf: str | None = None  # AUTHENTICATE PLAIN under way: base64 so far
        self._pending: list[tuple[ev.Command, Ctx | None]] | None = None
        self._channels: set[str] = set()  # keys of the rooms it is in (from its welcome on)
        self._batches = 0  # CHATHISTORY batches so far (their names)

    # ------------------------------------------------------------------ plumbing

    def _send(self, command: ev.Command, ctx: Ctx | None = None) -> None:
        self._emit(command)
        if self._pending is None:
            self._pending = []
        self._pending.append((command, ctx))

    def _reply(self, reply: Callable[[str], bytes]) -> None:
        """A reply the codec makes itself, in order with the engine's answers."""
        self._send(ev.Ping(), Ctx("LOCAL", reply=reply))

    def _numeric(self, code: str, *params: str) -> None:
        self._reply(lambda me: numeric(code, me, *params))

    def running(self, command: ev.Command) -> None:
        pending = self._pending
        if not pending:
            return
        for index, (sent, ctx) in enumerate(pending):
            if sent is command:
                self._ctx = ctx
                del pending[: index + 1]
                if not pending:
                    self._pending = None
                return

    def observe(self, notice: ev.Notice) -> None:
        match notice:
            case ev.Welcome():
                self._stage = _REGISTERED
                self._signed_in = notice.account is not None
                self._channels = {room.casefold() for room in notice.rooms}
                self._password = self._sasl = None
            case ev.Error() if self._stage == _JOINING:
                ctx = self._ctx
                if ctx is not None and ctx.kind == "REGISTER":
                    self._stage = _REGISTERING  # the next NICK tries again
                    self._password = self._sasl = None
            case ev.RoomJoined():
                self._channels.add(notice.room.casefold())
            case ev.RoomLeft():
                self._channels.discard(notice.room.casefold())
            case ev.Moderated(action="kick" | "ban", room=str(room)) if room != ev.DEFAULT_ROOM:
                # Told to this connection alone: it is the one put out of the room.
                self._channels.discard(room.casefold())

    # ------------------------------------------------------------------ input

    def receive_message(self, message: bytes) -> None:
        tags, body = split_sizes(message)
        if tags > MAX_TAGS or body > MAX_LINE - 2:
            self._numeric(rpl.ERR_INPUTTOOLONG, "Input line was too long")
            return
        msg = parse(message.decode("utf-8", "replace"))
        if msg is None:
            return  # an empty line is ignored (RFC 1459, 2.3.1)
        name = msg.command.upper()
        entry = self.table.get(name)
        if entry is None:
            if self._stage == _REGISTERED:
                self._numeric(rpl.ERR_UNKNOWNCOMMAND, name[:32], "Unknown command")
            else:
                self._numeric(rpl.ERR_NOTREGISTERED, "You have not registered")
            return
        handler, early, fewest = entry
        if not early and self._stage != _REGISTERED:
            self._numeric(rpl.ERR_NOTREGISTERED, "You have not registered")
        elif len(msg.params) < fewest:
            self._numeric(rpl.ERR_NEEDMOREPARAMS, name, "Not enough parameters")
        else:
            handler(self, msg.params)

    def receive_too_long(self, size: int, limit: int) -> None:
        self._numeric(rpl.ERR_INPUTTOOLONG, "Input line was too long")

    # ------------------------------------------------------------------ registration

    def _register(self) -> None:
        """Join once NICK and USER are in and CAP negotiation is over (or SASL is done)."""
        if self._stage != _REGISTERING or self._nick is None or not self._user:
            return
        if self._cap_open and self._sasl is None:
            return
        if self._sasl is not None:
            account, password = self._sasl
            self._send(ev.Join(account, password=password), Ctx("REGISTER", self._nick, ("sasl",)))
        elif self._password is not None:
            join = ev.Join(from_nick(self._nick), password=self._password)
            self._send(join, Ctx("REGISTER", self._nick, ("pass",)))
        else:
            self._send(ev.Join(from_nick(self._nick)), Ctx("REGISTER", self._nick))
        self._stage = _JOINING

    def _cmd_nick(self, params: tuple[str, ...]) -> None:
        if not params or not params[0]:
            self._numeric(rpl.ERR_NONICKNAMEGIVEN, "No nickname given")
            return
        nick = params[0]
        if self._stage == _REGISTERED:
            self._send(ev.Rename(from_nick(nick)), Ctx("NICK", nick))
            return
        self._nick = nick
        self._register()

    def _cmd_user(self, params: tuple[str, ...]) -> None:
        if self._stage == _REGISTERED or self._user:
            self._numeric(rpl.ERR_ALREADYREGISTERED, "You may not reregister")
            return
        self._user = True
        self._register()

    def _cmd_pass(self, params: tuple[str, ...]) -> None:
        if self._stage == _REGISTERED:
            self._numeric(rpl.ERR_ALREADYREGISTERED, "You may not reregister")
            return
        self._password = params[0]

    def _cmd_cap(self, params: tuple[str, ...]) -> None:
        sub = params[0].upper()
        if sub == "LS":
            if self._stage == _REGISTERING:
                self._cap_open = True
            values = len(params) > 1 and _number(params[1]) >= 302
            offered = " ".join(
                f"{cap}={CAP_VALUES[cap]}" if values and cap in CAP_VALUES else cap for cap in CAPS
            )
            self._reply(lambda me: build("CAP", me, "LS", offered, source=SERVER))
        elif sub == "LIST":
            enabled = " ".join(cap for cap, bit in CAPS.items() if self._caps & bit)
            self._reply(lambda me: build("CAP", me, "LIST", enabled, source=SERVER))
        elif sub == "REQ":
            self._cap_req(params[1] if len(params) > 1 else "")
        elif sub == "END":
            if self._stage == _REGISTERING:
                self._cap_open = False
                self._register()
        else:
            self._numeric("410", sub[:20], "Invalid CAP command")

    def _cap_req(self, asked: str) -> None:
        if self._stage == _REGISTERING:
            self._cap_open = True
        names = asked.split()
        if not names or any(n.lstrip("-") not in CAPS for n in names):
            self._reply(lambda me: build("CAP", me, "NAK", asked, source=SERVER))
            return
        for cap in names:  # all or nothing: each was checked above
            bit = CAPS[cap.lstrip("-")]
            self._caps = self._caps & ~bit if cap.startswith("-") else self._caps | bit
        self._reply(lambda me: build("CAP", me, "ACK", asked, source=SERVER))

    def _cmd_authenticate(self, params: tuple[str, ...]) -> None:
        arg = params[0]
        if self._stage != _REGISTERING:
            self._numeric(rpl.ERR_SASLALREADY, "You have already authenticated")
            return
        if not self._caps & CAP_SASL:
            self._numeric(rpl.ERR_SASLFAIL, "SASL authentication failed: CAP REQ sasl first")
            return
        if self._sasl_buf is None:
            if arg.upper() != "PLAIN":
                self._numeric(rpl.RPL_SASLMECHS, "PLAIN", "are available SASL mechanisms")
                self._numeric(rpl.ERR_SASLFAIL, "SASL authentication failed")
                return
            self._sasl_buf = ""
            self._reply(lambda me: build("AUTHENTICATE", "+"))
            return
        if arg == "*":
            self._sasl_buf = None
            self._numeric(rpl.ERR_SASLABORTED, "SASL authentication aborted")
            return
        if arg != "+":
            self._sasl_buf += arg
        if len(self._sasl_buf) > SASL_MAX:
            self._sasl_buf = None
            self._numeric(rpl.ERR_SASLTOOLONG, "SASL message too long")
            return
        if len(arg) == SASL_CHUNK:
            return  # more to come
        data, self._sasl_buf = self._sasl_buf, None
        credentials = _plain(data)
        if credentials is None:
            self._numeric(rpl.ERR_SASLFAIL, "SASL authentication failed")
            return
        self._sasl = credentials
        self._register()

    # ------------------------------------------------------------------ messages

    def _cmd_privmsg(self, params: tuple[str, ...], kind: str = "PRIVMSG") -> None:
        if not params or not params[0]:
            if kind == "PRIVMSG":
                self._numeric(rpl.ERR_NORECIPIENT, f"No recipient given ({kind})")
            return
        if len(params) < 2 or not params[1]:
            if kind == "PRIVMSG":
                self._numeric(rpl.ERR_NOTEXTTOSEND, "No text to send")
            return
        text = clean(params[1])
        for target in params[0].split(",")[:4]:
            room = room_of(target)
            if room is not None:
                self._send(ev.Chat(text, room), Ctx(kind, target))
            elif target:
                self._send(ev.Private(from_nick(target), text), Ctx(kind, target, (target,)))

    def _cmd_notice(self, params: tuple[str, ...]) -> None:
        self._cmd_privmsg(params, "NOTICE")

    def _cmd_ping(self, params: tuple[str, ...]) -> None:
        self._send(ev.Ping(params[0][:64]), Ctx("PING"))

    def _cmd_pong(self, params: tuple[str, ...]) -> None:
        self._send(ev.Pong())

    def _cmd_quit(self, params: tuple[str, ...]) -> None:
        self._send(ev.Quit(clean(params[0])[:200] if params else None))

    def _cmd_away(self, params: tuple[str, ...]) -> None:
        text = clean(params[0]).strip() if params else ""
        self._send(ev.Away(text or None), Ctx("AWAY", extra=("away",) if text else ()))

    # ------------------------------------------------------------------ channels

    def _channel_or_403(self, target: str) -> str | None:
        room = room_of(target)
        if room is None or not valid_room(room):
            self._numeric(rpl.ERR_NOSUCHCHANNEL, target[:50], "No such channel")
            return None
        return room

    def _cmd_join(self, params: tuple[str, ...]) -> None:
        if params[0] == "0":
            return  # "part every channel": everyone stays in #general, so it is not offered
        for target in params[0].split(","):
            room = self._channel_or_403(target)
            if room is not None and room.casefold() not in self._channels:
                self._send(ev.JoinRoom(room), Ctx("JOIN", target))

    def _cmd_part(self, params: tuple[str, ...]) -> None:
        for target in params[0].split(","):
            room = self._channel_or_403(target)
            if room is not None:
                self._send(ev.LeaveRoom(room), Ctx("PART", target))

    def _cmd_topic(self, params: tuple[str, ...]) -> None:
        target = params[0]
        room = self._channel_or_403(target)
        if room is None:
            return
        if len(params) > 1:
            self._send(ev.SetTopic(room, clean(params[1])), Ctx("TOPIC", target))
            return
        # The one room that sorts right after a name just below this one: the room itself.
        key = room.casefold()
        below = key[:-1] + chr(ord(key[-1]) - 1) + "~"
        self._send(ev.ListRooms(after=below, limit=1), Ctx("TOPIC", target))

    def _cmd_names(self, params: tuple[str, ...]) -> None:
        if not params:
            self._numeric(rpl.RPL_ENDOFNAMES, "*", "End of /NAMES list")
            return
        for target in params[0].split(","):
            room = self._channel_or_403(target)
            if room is None:
                continue
            if room.casefold() in self._channels:  # with @ and + from the room's roles
                self._send(ev.JoinRoom(room), Ctx("NAMES", target))
            else:
                self._send(ev.ListUsers(room), Ctx("NAMES", target))

    def _cmd_list(self, params: tuple[str, ...]) -> None:
        wanted = tuple(t.casefold() for t in params[0].split(",")) if params else ()
        self._send(ev.ListRooms(limit=LIST_LIMIT), Ctx("LIST", extra=wanted))

    def _cmd_who(self, params: tuple[str, ...]) -> None:
        mask = params[0] if params else "*"
        room = room_of(mask)
        self._send(ev.ListUsers(room), Ctx("WHO", mask))

    def _cmd_whois(self, params: tuple[str, ...]) -> None:
        nick = params[-1].split(",")[0]
        self._send(ev.ListUsers(), Ctx("WHOIS", nick))

    def _cmd_whowas(self, params: tuple[str, ...]) -> None:
        nick = params[0].split(",")[0]
        count = _number(params[1]) if len(params) > 1 else 0  # none, or not positive: all
        self._send(ev.WhoWas(from_nick(nick), count or WHOWAS_LIMIT), Ctx("WHOWAS", nick))

    def _cmd_ison(self, params: tuple[str, ...]) -> None:
        nicks = tuple(n for p in params for n in p.split())
        self._send(ev.ListUsers(), Ctx("ISON", extra=nicks))

    def _cmd_userhost(self, params: tuple[str, ...]) -> None:
        self._send(ev.ListUsers(), Ctx("USERHOST", extra=params[:5]))

    def _cmd_lusers(self, params: tuple[str, ...]) -> None:
        self._send(ev.ListUsers(), Ctx("LUSERS"))

    def _cmd_motd(self, params: tuple[str, ...]) -> None:
        self._reply(IrcRenderer._motd)

    def _cmd_kick(self, params: tuple[str, ...]) -> None:
        target = params[0]
        room = self._channel_or_403(target)
        if room is None:
            return
        reason = clean(params[2]) if len(params) > 2 else ""
        for nick in params[1].split(",")[:4]:
            self._send(ev.Kick(room, from_nick(nick), reason), Ctx("KICK", target, (nick,)))

    def _cmd_invite(self, params: tuple[str, ...]) -> None:
        nick, target = params[0], params[1]
        room = self._channel_or_403(target)
        if room is not None:
            self._send(ev.Invite(room, from_nick(nick)), Ctx("INVITE", target, (nick,)))

    def _cmd_mode(self, params: tuple[str, ...]) -> None:
        target = params[0]
        room = room_of(target)
        if room is None:
            self._user_mode(target, params[1] if len(params) > 1 else "")
        elif len(params) == 1:
            if room.casefold() in self._channels:
                self._send(ev.JoinRoom(room), Ctx("MODE", target))
            else:
                self._numeric(rpl.ERR_NOTONCHANNEL, target, "You're not on that channel")
        else:
            self._channel_mode(target, room, params[1], list(params[2:]))

    def _user_mode(self, target: str, change: str) -> None:
        """User modes are minimal: +i is accepted (everyone is invisible to no one)."""
        unknown = [c for c in change if c not in "+-iw"]

        def answer(me: str) -> bytes:
            if target.casefold() != me.casefold():
                return numeric(rpl.ERR_USERSDONTMATCH, me, "Cannot change mode for other users")
            if unknown:
                return numeric(rpl.ERR_UMODEUNKNOWNFLAG, me, "Unknown MODE flag")
            return numeric(rpl.RPL_UMODEIS, me, "+")

        self._reply(answer)

    def _channel_mode(self, target: str, room: str, change: str, args: list[str]) -> None:
        """+i +m +t are the room's modes, +o +v its roles, +b its bans."""
        sign = "+"
        flags: dict[str, bool] = {}
        actions: list[tuple[ev.Command, Ctx]] = []
        for letter in change:
            if letter in "+-":
                sign = letter
            elif letter in FLAG_LETTERS:
                flags[FLAG_LETTERS[letter]] = sign == "+"
            elif letter in ROLE_LETTERS:
                if not args:
                    continue
                nick = args.pop(0)
                role = ROLE_LETTERS[letter] if sign == "+" else "member"
                actions.append(
                    (ev.SetRole(from_nick(nick), role, room), Ctx("MODE", target, (nick,)))
                )
            elif letter == "b":
                if not args:
                    self._numeric(rpl.RPL_ENDOFBANLIST, target, "End of channel ban list")
                    continue
                nick = args.pop(0).split("!", 1)[0]
                who = from_nick(nick)
                ban: ev.Command = ev.Ban(who, room) if sign == "+" else ev.Unban(who, room)
                actions.append((ban, Ctx("MODE", target, (nick,))))
            else:
                self._numeric(rpl.ERR_UNKNOWNMODE, letter, "is unknown mode char to me")
        if flags:
            self._send(ev.RoomMode(room, **flags), Ctx("MODE", target))
        for action, ctx in actions:
            self._send(action, ctx)

    def _cmd_chathistory(self, params: tuple[str, ...]) -> None:
        """draft/chathistory: LATEST, BEFORE, AFTER, AROUND and BETWEEN, by msgid (chinwag's
        message ids) or timestamp. Each request is one batch, made of one `history` (two
        for AROUND: the messages up to the reference, then those after it)."""
        sub, target = params[0].upper(), params[1]
        between = sub == "BETWEEN"
        refs = [_reference(p) for p in params[2 : 4 if between else 3]]
        limit = (
            min(_number(params[-1]), HISTORY_LIMIT) if len(params) > (4 if between else 3) else 0
        )
        pages = None
        if self._caps & CAP_HISTORY and limit and None not in refs:
            pages = _pages(sub, [r for r in refs if r is not None], limit)
        if not pages:

            def fail(me: str) -> bytes:
                return build("FAIL", "CHATHISTORY", "INVALID_PARAMS", sub, "Not supported")

            self._reply(fail)
            return
        room = room_of(target)
        self._batches += 1
        batch = f"h{self._batches}"
        for index, (bounds, floor) in enumerate(pages):
            part = ("open" if index == 0 else "") + ("close" if index == len(pages) - 1 else "")
            if room is not None:
                command = ev.History(room, **bounds)
            else:
                command = ev.History("", with_=from_nick(target), **bounds)
            self._send(command, Ctx("CHATHISTORY", target, (part, batch, *floor)))


# ("msgid", id) or ("timestamp", unix seconds); ("*", 0) for LATEST. Ids stay ints: a
# float holds them exactly only up to 2**53.
Bound = tuple[str, int | float]


def _reference(text: str) -> Bound | None:
    if text == "*":
        return ("*", 0)
    kind, _, value = text.partition("=")
    if kind == "msgid" and _number(value) > 0:
        return ("msgid", _number(value))
    if kind == "timestamp":
        try:
            when = datetime.fromisoformat(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return ("timestamp", when.timestamp())
        except (ValueError, OverflowError):
            return None
    return None


def _before(ref: Bound, inclusive: bool = False) -> dict[str, Any]:
    if ref[0] == "msgid":
        return {"before": int(ref[1]) + inclusive}
    return {"before_time": ref[1]}


def _after(ref: Bound) -> dict[str, Any]:
    return {"after": int(ref[1])} if ref[0] == "msgid" else {"after_time": ref[1]}


def _floor(ref: Bound) -> tuple[str, ...]:
    """Keep only what is newer than the reference: the newest page, cut at render."""
    return (ref[0], repr(ref[1]))


def _pages(sub: str, refs: list[Bound], limit: int) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """The history pages a CHATHISTORY request is made of (empty: not a valid request);
    each with a floor, when the page is the newest and the answer only what follows it."""
    ref = refs[0]
    if sub == "LATEST":
        return [({"limit": limit}, () if ref[0] == "*" else _floor(ref))]
    if ref[0] == "*":
        return []
    if sub == "BEFORE":
        return [({**_before(ref), "limit": limit}, ())]
    if sub == "AFTER":
        return [({**_after(ref), "limit": limit}, ())]
    if sub == "AROUND":  # the reference and older, then newer: about half each
        newer = limit // 2
        pages: list[tuple[dict[str, Any], tuple[str, ...]]] = [
            ({**_before(ref, inclusive=True), "limit": limit - newer}, ())
        ]
        if newer:
            pages.append(({**_after(ref), "limit": newer}, ()))
        return pages
    if sub == "BETWEEN" and len(refs) == 2 and refs[1][0] == ref[0]:
        first, last = ref, refs[1]
        if first[1] < last[1]:  # oldest first from `first`, up to `last`
            return [({**_after(first), **_before(last), "limit": limit}, ())]
        return [({**_before(first), "limit": limit}, _floor(last))]  # newest first from it
    return []


def _number(text: str) -> int:
    """A parameter as a count or id; 0 unless it is ASCII digits (`²` is a digit to
    str.isdigit and no number to int)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0


def _plain(data: str) -> tuple[str, str] | None:
    """SASL PLAIN's `authzid NUL authcid NUL password`, base64: (account, password)."""
    try:
        raw = base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    parts = raw.split("\0")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return None
    authzid, account, password = parts
    if authzid and authzid != account:
        return None  # acting as someone else is not offered
    return account, password


IrcCodec.table = {
    "NICK": (IrcCodec._cmd_nick, True, 0),
    "USER": (IrcCodec._cmd_user, True, 4),
    "PASS": (IrcCodec._cmd_pass, True, 1),
    "CAP": (IrcCodec._cmd_cap, True, 1),
    "AUTHENTICATE": (IrcCodec._cmd_authenticate, True, 1),
    "PING": (IrcCodec._cmd_ping, True, 1),
    "PONG": (IrcCodec._cmd_pong, True, 0),
    "QUIT": (IrcCodec._cmd_quit, True, 0),
    "PRIVMSG": (IrcCodec._cmd_privmsg, False, 0),
    "NOTICE": (IrcCodec._cmd_notice, False, 0),
    "JOIN": (IrcCodec._cmd_join, False, 1),
    "PART": (IrcCodec._cmd_part, False, 1),
    "TOPIC": (IrcCodec._cmd_topic, False, 1),
    "NAMES": (IrcCodec._cmd_names, False, 0),
    "LIST": (IrcCodec._cmd_list, False, 0),
    "WHO": (IrcCodec._cmd_who, False, 0),
    "WHOIS": (IrcCodec._cmd_whois, False, 1),
    "WHOWAS": (IrcCodec._cmd_whowas, False, 1),
    "ISON": (IrcCodec._cmd_ison, False, 1),
    "USERHOST": (IrcCodec._cmd_userhost, False, 1),
    "LUSERS": (IrcCodec._cmd_lusers, False, 0),
    "MOTD": (IrcCodec._cmd_motd, False, 0),
    "AWAY": (IrcCodec._cmd_away, False, 0),
    "MODE": (IrcCodec._cmd_mode, False, 1),
    "KICK": (IrcCodec._cmd_kick, False, 2),
    "INVITE": (IrcCodec._cmd_invite, False, 2),
    "CHATHISTORY": (IrcCodec._cmd_chathistory, False, 4),
}
