"""Rendering engine notices as IRC lines: the output half of the IRC codec (sans-I/O).

Answers carry no reference to the command they answer, so what a reply becomes depends
on the context the codec recorded for the command being run (`Ctx`): a user list is a
NAMES, WHO, WHOIS, ISON or USERHOST reply, an error is the numeric that command's
clients expect. Replies the codec makes on its own (CAP, MOTD, 461...) ride on an engine
ping: its pong renders them (`Ctx.reply`), in order with everything else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Hashable
from typing import NamedTuple

from chinwag.protocol import events as ev
from chinwag.protocol import irc_numerics as rpl
from chinwag.protocol.codec import Codec, concerns
from chinwag.protocol.common import file_size
from chinwag.protocol.events import ErrorCode
from chinwag.protocol.irc_names import channel, clean, room_of, strip_controls, to_nick
from chinwag.protocol.irc_wire import MAX_LINE, build, chunks, tag_text
from chinwag.protocol.sentences import describe_audit, describe_deleted, describe_moderation

SERVER = "chinwag"
HOST = "chinwag"
MOTD = (
    "This is chinwag's IRC gateway: the rooms here are the same rooms every chinwag",
    "client sees. #general is room general; everyone is in it.",
)
LIST_LIMIT = 500  # rooms in one LIST answer (the engine's page limit)
HISTORY_LIMIT = 100  # CHATHISTORY's most messages per request

# Capabilities, as bits: one small int per connection.
CAP_TIME, CAP_TAGS, CAP_ECHO, CAP_BATCH, CAP_SASL, CAP_HISTORY = 1, 2, 4, 8, 16, 32
CAP_ACCOUNT, CAP_EXTJOIN, CAP_ACCOUNT_NOTIFY, CAP_AWAY_NOTIFY = 64, 128, 256, 512
CAPS = {
    "server-time": CAP_TIME,
    "message-tags": CAP_TAGS,
    "echo-message": CAP_ECHO,
    "batch": CAP_BATCH,
    "sasl": CAP_SASL,
    "draft/chathistory": CAP_HISTORY,
    "account-tag": CAP_ACCOUNT,
    "extended-join": CAP_EXTJOIN,
    "account-notify": CAP_ACCOUNT_NOTIFY,
    "away-notify": CAP_AWAY_NOTIFY,
}
CAP_VALUES = {"sasl": "PLAIN"}
TAG_CAPS = CAP_TIME | CAP_TAGS | CAP_ACCOUNT  # the capabilities that add tags
# The capabilities that change the bytes of a notice rendered for many viewers, and the
# share key of each combination (made once: the fan-out asks for one per recipient).
SHARED_CAPS = TAG_CAPS | CAP_EXTJOIN | CAP_ACCOUNT_NOTIFY | CAP_AWAY_NOTIFY
SHARE_KEYS = tuple(("irc", bits) for bits in range(SHARED_CAPS + 1))
ISUPPORT = (
    "CHANTYPES=#",
    "NICKLEN=32",
    "CHANNELLEN=33",
    "TOPICLEN=300",
    "CASEMAPPING=ascii",
    "PREFIX=(ov)@+",
    "CHANMODES=b,,,imt",
    "NETWORK=chinwag",
    "CHATHISTORY=100",
    "MSGREFTYPES=msgid,timestamp",
)
SHARED = frozenset(
    {ev.TopicChanged, ev.FileShared, ev.UserJoined, ev.UserLeft, ev.UserRenamed, ev.UserAway}
)
LEFT_ROOM = "left the room"  # the reason the engine gives a leave (the rest are quits)
# History refused for its target (IRCv3 chathistory's INVALID_TARGET); other refusals are
# MESSAGE_ERROR.
HISTORY_TARGET_ERRORS = frozenset(
    {
        ErrorCode.NOT_IN_ROOM,
        ErrorCode.UNKNOWN_ROOM,
        ErrorCode.INVALID_ROOM,
        ErrorCode.UNKNOWN_USER,
        ErrorCode.FORBIDDEN,
    }
)


class Ctx(NamedTuple):
    """What the command being run asked, for rendering its answer."""

    kind: str  # the IRC command (upper case), or REGISTER
    target: str = ""  # the channel or nick it named
    extra: tuple[str, ...] = ()
    reply: Callable[[str], bytes] | None = None  # a reply the codec makes itself


def iso_time(timestamp: float) -> str:
    whole = int(timestamp)
    millis = round((timestamp - whole) * 1000)
    if millis >= 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def source(name: str) -> str:
    nick = to_nick(name)
    return f"{nick}!u@{HOST}"


def numeric(code: str, me: str, *params: str) -> bytes:
    return build(code, me, *params, source=SERVER)


def server_notice(me: str, text: str) -> bytes:
    """A NOTICE from the server, cut to fit lines; controls stripped."""
    head = len(f":{SERVER} NOTICE {me} :") + 2
    text = strip_controls(text)
    return b"".join(
        build("NOTICE", me, piece, source=SERVER) for piece in chunks(text, MAX_LINE - head)
    )


def said(command: str, who: str, target: str, text: str, tags: str) -> bytes:
    """A PRIVMSG/NOTICE/TOPIC of any length, cut into lines of at most 512 bytes."""
    head = len(f":{who} {command} {target} :".encode()) + 2
    return b"".join(
        build(command, target, piece, source=who, tags=tags)
        for piece in chunks(text, MAX_LINE - head)
    )


def names_lines(me: str, room: str, names: list[str]) -> bytes:
    """353 lines (as many as fit 512 bytes each), then 366."""
    chan = channel(room)
    head = len(f":{SERVER} 353 {me} = {chan} :") + 2
    out: list[bytes] = []
    line: list[str] = []
    size = 0
    for name in names:
        if line and size + len(name) + 1 > MAX_LINE - head:
            out.append(numeric(rpl.RPL_NAMREPLY, me, "=", chan, " ".join(line)))
            line, size = [], 0
        line.append(name)
        size += len(name.encode()) + 1
    if line:
        out.append(numeric(rpl.RPL_NAMREPLY, me, "=", chan, " ".join(line)))
    out.append(numeric(rpl.RPL_ENDOFNAMES, me, chan, "End of /NAMES list"))
    return b"".join(out)


def mode_letters(modes: tuple[str, ...]) -> str:
    letters = {"invite_only": "i", "moderated": "m", "topic_locked": "t"}
    return "+" + "".join(letters[m] for m in modes if m in letters)


def _account(
    notice: ev.ChatMessage | ev.PrivateMessage | ev.TopicChanged | ev.UserJoined | ev.UserRenamed,
) -> str:
    """The account the notice's sender is signed in to (its name), or ""."""
    if not notice.signed_in:
        return ""
    return notice.new if isinstance(notice, ev.UserRenamed) else notice.username


class IrcRenderer(Codec):
    """The notices as IRC lines, for this connection's capabilities and context."""

    personal = True
    __slots__ = ("_caps", "_ctx", "_nick", "_signed_in")

    def __init__(self) -> None:
        super().__init__()
        self._caps = 0
        self._ctx: Ctx | None = None  # the context of the command being run
        self._nick: str | None = None  # the nick asked for (before the welcome)
        self._signed_in = False  # its welcome named an account (for its own extended JOIN)

    # ------------------------------------------------------------------ helpers

    def _me(self, viewer: str | None) -> str:
        return "*" if viewer is None else to_nick(viewer)  # "*" until registered

    def _tags(self, timestamp: float, msgid: int = 0, batch: str = "", account: str = "") -> str:
        """The tags this connection asked for; `account`: the sender's, if signed in."""
        caps = self._caps
        if not caps & TAG_CAPS and not batch:
            return ""
        pairs: list[tuple[str, str]] = []
        if batch:
            pairs.append(("batch", batch))
        if caps & CAP_TIME:
            pairs.append(("time", iso_time(timestamp)))
        if caps & CAP_TAGS and msgid:
            pairs.append(("msgid", str(msgid)))
        if caps & CAP_ACCOUNT and account:
            pairs.append(("account", to_nick(account)))
        return tag_text(pairs)

    def _join_line(self, room: str, who: str, signed_in: bool, tags: str = "") -> bytes:
        """JOIN, with the account (or `*`) and the realname under extended-join."""
        if self._caps & CAP_EXTJOIN:
            account = to_nick(who) if signed_in else "*"
            return build("JOIN", channel(room), account, who, source=source(who), tags=tags)
        return build("JOIN", channel(room), source=source(who), tags=tags)

    def share_key(self, notice: ev.Notice, viewer: str | None) -> Hashable | None:
        """Room traffic renders alike for everyone with the same tag capabilities.

        Called once per recipient of every room message: kept to a class test or two."""
        kind = notice.__class__
        if kind is ev.ChatMessage:
            if notice.username == viewer and not notice.history:  # type: ignore[union-attr]
                return None  # its own echo
            return SHARE_KEYS[self._caps & SHARED_CAPS]
        if kind in SHARED and not concerns(notice, viewer):
            return SHARE_KEYS[self._caps & SHARED_CAPS]
        return None

    def apart(self, notice: ev.Notice) -> Collection[str] | None:
        """Who share_key renders on its own: a chat's sender (its echo), a renamed user
        (its own NICK); nobody else, for room traffic. The fan-out's whole-run sharing."""
        if isinstance(notice, ev.ChatMessage):
            return () if notice.history else (notice.username,)
        if isinstance(notice, ev.UserRenamed):
            return (notice.new,)
        return () if notice.__class__ in SHARED else None

    def presence_key(self, viewer: str | None) -> Hashable | None:
        """JOIN, PART and QUIT lines name who came or went, never who reads them."""
        return SHARE_KEYS[self._caps & SHARED_CAPS]

    # ------------------------------------------------------------------ render

    def render(self, notice: ev.Notice, viewer: str | None) -> bytes:
        me = self._me(viewer)
        match notice:
            case ev.ChatMessage():
                return self._chat(notice, viewer)
            case ev.PrivateMessage():
                return self._private(notice, viewer, "")
            case ev.TopicChanged():
                tags = self._tags(notice.timestamp, notice.id, "", _account(notice))
                return said(
                    "TOPIC",
                    source(notice.username),
                    channel(notice.room),
                    clean(notice.topic),
                    tags,
                )
            case ev.FileShared():
                return self._file(notice, "")
            case ev.UserJoined():
                tags = self._tags(notice.timestamp, 0, "", _account(notice))
                return self._join_line(notice.room, notice.username, notice.signed_in, tags)
            case ev.UserLeft():
                tags = self._tags(notice.timestamp)
                who = source(notice.username)
                if notice.reason == LEFT_ROOM:
                    return build("PART", channel(notice.room), source=who, tags=tags)
                return build("QUIT", strip_controls(notice.reason or "Quit"), source=who, tags=tags)
            case ev.UserRenamed():
                tags = self._tags(notice.timestamp, 0, "", _account(notice))
                nick = build("NICK", to_nick(notice.new), source=source(notice.old), tags=tags)
                if notice.signed_in and self._caps & CAP_ACCOUNT_NOTIFY:
                    who = to_nick(notice.new)
                    return nick + build("ACCOUNT", who, source=source(notice.new), tags=tags)
                return nick
            case ev.UserAway():
                if not self._caps & CAP_AWAY_NOTIFY:
                    return b""
                tags = self._tags(notice.timestamp)
                who = source(notice.username)
                if notice.message:
                    return build("AWAY", strip_controls(notice.message), source=who, tags=tags)
                return build("AWAY", source=who, tags=tags)
            case ev.Welcome():
                return self._welcome(notice, me)
            case ev.UserList():
                return self._users(notice, me)
            case ev.WhoWasReply():
                return self._whowas(notice, me)
            case ev.RoomList():
                return self._rooms(notice, me)
            case ev.RoomJoined():
                return self._room_joined(notice, me, viewer)
            case ev.RoomLeft():
                return build("PART", channel(notice.room), source=source(viewer or me))
            case ev.Moderated():
                return self._moderated(notice, me, viewer)
            case ev.Deleted():
                return server_notice(me, describe_deleted(notice))
            case ev.Announcement():
                return server_notice(me, f"Announcement from {notice.username}: {notice.message}")
            case ev.AuditLog():
                return b"".join(server_notice(me, p) for p in describe_audit(notice).split(" | "))
            case ev.HistoryPage():
                return self._history(notice, viewer, me)
            case ev.SearchResults():
                return server_notice(me, f"{len(notice.messages)} messages found")
            case ev.PongReply():
                return self._pong(notice, me)
            case ev.KeepAlive():
                return build("PING", str(int(notice.timestamp)))
            case ev.Error():
                return self._error(notice, me)
            case ev.Goodbye():
                return build("ERROR", f"Closing link: {strip_controls(notice.message)}")
            case ev.Done():
                ctx = self._ctx
                if ctx is not None and ctx.kind == "AWAY":
                    if ctx.extra:
                        return numeric(rpl.RPL_NOWAWAY, me, "You have been marked as being away")
                    return numeric(rpl.RPL_UNAWAY, me, "You are no longer marked as being away")
                return server_notice(me, notice.message)
        return b""  # pragma: no cover (every notice type is matched above)

    def _chat(self, notice: ev.ChatMessage, viewer: str | None, batch: str = "") -> bytes:
        if notice.username == viewer and not notice.history and not self._caps & CAP_ECHO:
            return b""  # without echo-message a client shows its own line itself
        text = "(message deleted)" if notice.deleted else clean(notice.message)
        tags = self._tags(notice.timestamp, notice.id, batch, _account(notice))
        return said("PRIVMSG", source(notice.username), channel(notice.room), text, tags)

    def _file(self, notice: ev.FileShared, batch: str) -> bytes:
        """A file shared in a room: a NOTICE from its sender (IRC has no file message)."""
        size = file_size(notice.size)
        text = clean(f"shared a file: {notice.name} ({size}) {notice.url}")
        # Files are shared with a login token: their senders are always signed in.
        tags = self._tags(notice.timestamp, notice.id, batch, notice.username)
        return said("NOTICE", source(notice.username), channel(notice.room), text, tags)

    def _private(self, notice: ev.PrivateMessage, viewer: str | None, batch: str) -> bytes:
        mine = notice.username == viewer and notice.target != viewer
        away = b""
        if mine and notice.away:  # the target is away: 301, as the RFC answers a PRIVMSG
            target = to_nick(notice.target)
            text = strip_controls(notice.away)
            away = numeric(rpl.RPL_AWAY, to_nick(notice.username), target, text)
        if mine and not notice.history and not self._caps & CAP_ECHO:
            return away
        tags = self._tags(notice.timestamp, notice.id, batch, _account(notice))
        text = clean(notice.message)
        line = said("PRIVMSG", source(notice.username), to_nick(notice.target), text, tags)
        return line + away

    def _welcome(self, notice: ev.Welcome, me: str) -> bytes:
        ctx = self._ctx
        out: list[bytes] = []
        if notice.account is not None:
            account = to_nick(notice.account)
            mask = f"{me}!u@{HOST}"
            out.append(
                numeric(rpl.RPL_LOGGEDIN, me, mask, account, f"You are now logged in as {account}")
            )
            if ctx is not None and ctx.extra == ("sasl",):
                out.append(numeric(rpl.RPL_SASLSUCCESS, me, "SASL authentication successful"))
        out += [
            numeric(rpl.RPL_WELCOME, me, f"{notice.message.rstrip('!')} ({me}!u@{HOST})"),
            numeric(rpl.RPL_YOURHOST, me, f"Your host is {SERVER}, running chinwag"),
            numeric(rpl.RPL_CREATED, me, "This server was created for chinwag's rooms"),
            numeric(rpl.RPL_MYINFO, me, SERVER, "chinwag", "i", "bimotv", "bov"),
            numeric(rpl.RPL_ISUPPORT, me, *ISUPPORT, "are supported by this server"),
            self._lusers(me, len(notice.users)),
            self._motd(me),
        ]
        out.append(self._join_line(ev.DEFAULT_ROOM, notice.username, self._signed_in))
        out.append(names_lines(me, ev.DEFAULT_ROOM, [to_nick(u) for u in notice.users]))
        return b"".join(out)

    @staticmethod
    def _lusers(me: str, users: int) -> bytes:
        return numeric(
            rpl.RPL_LUSERCLIENT, me, f"There are {users} users and 0 invisible on 1 servers"
        ) + numeric(rpl.RPL_LUSERME, me, f"I have {users} clients and 0 servers")

    @staticmethod
    def _motd(me: str) -> bytes:
        return b"".join(
            [
                numeric(rpl.RPL_MOTDSTART, me, f"- {SERVER} Message of the day -"),
                *(numeric(rpl.RPL_MOTD, me, f"- {line}") for line in MOTD),
                numeric(rpl.RPL_ENDOFMOTD, me, "End of /MOTD command."),
            ]
        )

    def _users(self, notice: ev.UserList, me: str) -> bytes:
        ctx = self._ctx
        kind = ctx.kind if ctx is not None else "NAMES"
        nicks = [to_nick(u) for u in notice.users]
        if kind == "LUSERS":
            return self._lusers(me, len(nicks))
        if kind == "ISON" and ctx is not None:
            online = {n.casefold(): n for n in nicks}
            found = [online[n.casefold()] for n in ctx.extra if n.casefold() in online]
            return numeric(rpl.RPL_ISON, me, " ".join(found))
        if kind == "USERHOST" and ctx is not None:
            online = {n.casefold(): n for n in nicks}
            found = [online[n.casefold()] for n in ctx.extra if n.casefold() in online]
            gone = {to_nick(a.username) for a in notice.away}  # `-`: away, `+`: here
            replies = (f"{n}={'-' if n in gone else '+'}u@{HOST}" for n in found)
            return numeric(rpl.RPL_USERHOST, me, " ".join(replies))
        if kind == "WHOIS" and ctx is not None:
            return self._whois(notice, me, ctx.target)
        if kind == "WHO" and ctx is not None:
            where = channel(notice.room) if notice.room else "*"
            wanted = ctx.target.casefold()
            gone = {to_nick(a.username) for a in notice.away}  # G(one) instead of H(ere)
            out = [
                numeric(
                    rpl.RPL_WHOREPLY,
                    me,
                    where,
                    "u",
                    HOST,
                    SERVER,
                    n,
                    "G" if n in gone else "H",
                    f"0 {n}",
                )
                for n in nicks
                if notice.room is not None or wanted in ("", "*", "0", n.casefold())
            ]
            out.append(numeric(rpl.RPL_ENDOFWHO, me, ctx.target or "*", "End of /WHO list"))
            return b"".join(out)
        if notice.room is None:
            return server_notice(me, "Online: " + " ".join(nicks))
        return names_lines(me, notice.room, nicks)

    def _whois(self, notice: ev.UserList, me: str, wanted: str) -> bytes:
        accounts = {to_nick(a).casefold() for a in notice.accounts}
        for name in notice.users:
            nick = to_nick(name)
            if nick.casefold() != wanted.casefold():
                continue
            out = [
                numeric(rpl.RPL_WHOISUSER, me, nick, "u", HOST, "*", name),
                numeric(rpl.RPL_WHOISSERVER, me, nick, SERVER, "chinwag"),
            ]
            for absent in notice.away:
                if absent.username == name:
                    out.append(numeric(rpl.RPL_AWAY, me, nick, strip_controls(absent.message)))
            if nick.casefold() in accounts:
                out.append(numeric(rpl.RPL_WHOISACCOUNT, me, nick, nick, "is logged in as"))
            out.append(numeric(rpl.RPL_ENDOFWHOIS, me, nick, "End of /WHOIS list"))
            return b"".join(out)
        return numeric(rpl.ERR_NOSUCHNICK, me, wanted, "No such nick/channel") + numeric(
            rpl.RPL_ENDOFWHOIS, me, wanted, "End of /WHOIS list"
        )

    def _whowas(self, notice: ev.WhoWasReply, me: str) -> bytes:
        """314 and 312 (with the time it signed off) per sign-out, or 406; then 369."""
        ctx = self._ctx
        nick = ctx.target if ctx is not None and ctx.target else to_nick(notice.username)
        out: list[bytes] = []
        for gone in notice.seen:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(gone.timestamp))
            was = to_nick(gone.username)
            out.append(numeric(rpl.RPL_WHOWASUSER, me, was, "u", HOST, "*", gone.username))
            out.append(numeric(rpl.RPL_WHOISSERVER, me, was, SERVER, f"signed off {when}"))
        if not out:
            out.append(numeric(rpl.ERR_WASNOSUCHNICK, me, nick, "There was no such nickname"))
        out.append(numeric(rpl.RPL_ENDOFWHOWAS, me, nick, "End of WHOWAS"))
        return b"".join(out)

    def _rooms(self, notice: ev.RoomList, me: str) -> bytes:
        ctx = self._ctx
        if ctx is not None and ctx.kind == "TOPIC":  # a topic asked of a room one is not in
            for info in notice.rooms[:1]:
                if info.room.casefold() == (room_of(ctx.target) or "").casefold():
                    return self._topic_reply(
                        me, info.room, info.topic, info.topic_by, info.topic_at
                    )
            return numeric(rpl.ERR_NOSUCHCHANNEL, me, ctx.target, "No such channel")
        wanted = set(ctx.extra) if ctx is not None else set()
        out = [numeric(rpl.RPL_LISTSTART, me, "Channel", "Users  Name")]
        for info in notice.rooms:
            chan = channel(info.room)
            if wanted and chan.casefold() not in wanted:
                continue
            out.append(numeric(rpl.RPL_LIST, me, chan, str(info.users), clean(info.topic)))
        out.append(numeric(rpl.RPL_LISTEND, me, "End of /LIST"))
        return b"".join(out)

    @staticmethod
    def _topic_reply(me: str, room: str, topic: str, by: str = "", at: float = 0.0) -> bytes:
        """332 with the topic (its first line's worth), then 333: who set it, and when."""
        chan = channel(room)
        if not topic:
            return numeric(rpl.RPL_NOTOPIC, me, chan, "No topic is set")
        head = len(f":{SERVER} 332 {me} {chan} :") + 2
        text = chunks(clean(topic), MAX_LINE - head)[0]
        line = numeric(rpl.RPL_TOPIC, me, chan, text)
        if by:
            line += numeric(rpl.RPL_TOPICWHOTIME, me, chan, to_nick(by), str(int(at)))
        return line

    def _room_joined(self, notice: ev.RoomJoined, me: str, viewer: str | None) -> bytes:
        ctx = self._ctx
        kind = ctx.kind if ctx is not None else ""
        if kind == "MODE":
            return numeric(
                rpl.RPL_CHANNELMODEIS, me, channel(notice.room), mode_letters(notice.modes)
            )
        ops, voiced = set(notice.operators), set(notice.voiced)
        names = [
            ("@" if u in ops else "+" if u in voiced else "") + to_nick(u) for u in notice.users
        ]
        if kind == "NAMES":
            return names_lines(me, notice.room, names)
        join = self._join_line(notice.room, viewer or me, self._signed_in)
        topic = (
            self._topic_reply(me, notice.room, notice.topic, notice.topic_by, notice.topic_at)
            if notice.topic
            else b""
        )
        return join + topic + names_lines(me, notice.room, names)

    def _moderated(self, notice: ev.Moderated, me: str, viewer: str | None) -> bytes:
        by = source(notice.by)
        room = notice.room
        target = to_nick(notice.username) if notice.username else ""
        tags = self._tags(notice.timestamp)
        if room is not None:
            chan = channel(room)
            match notice.action:
                case "kick":
                    reason = strip_controls(notice.reason) or notice.by
                    return build("KICK", chan, target, reason, source=by, tags=tags)
                case "ban" | "unban":
                    sign = "+" if notice.action == "ban" else "-"
                    mode = build("MODE", chan, sign + "b", f"{target}!*@*", source=by, tags=tags)
                    if notice.action == "ban" and notice.username == viewer:
                        return mode + server_notice(me, describe_moderation(notice))
                    return mode
                case "role":
                    letter = {"operator": "+o", "owner": "+o", "voice": "+v"}.get(
                        notice.role or "", "-ov"
                    )
                    args = [target] * (len(letter) - 1)
                    return build("MODE", chan, letter, *args, source=by, tags=tags)
                case "mode":
                    now = mode_letters(notice.modes)
                    off = "".join(c for c in "imt" if c not in now)
                    change = now + ("-" + off if off else "")
                    return build("MODE", chan, change, source=by, tags=tags)
                case "invite":
                    if notice.username == viewer:
                        return build("INVITE", target, chan, source=by, tags=tags)
                    if notice.by == viewer:
                        return numeric(rpl.RPL_INVITING, me, target, chan)
        return server_notice(me, describe_moderation(notice))

    def _history(self, notice: ev.HistoryPage, viewer: str | None, me: str) -> bytes:
        """A CHATHISTORY answer (or one part of it: AROUND reads two pages) in a batch."""
        ctx = self._ctx
        part, batch = "openclose", ""
        floor: tuple[str, ...] = ()
        if ctx is not None and ctx.kind == "CHATHISTORY" and len(ctx.extra) >= 2:
            part, batch, floor = ctx.extra[0], ctx.extra[1], ctx.extra[2:]
        messages = notice.messages
        if len(floor) == 2:  # the newest page, of which only what follows the reference
            if floor[0] == "msgid":
                newest = int(floor[1])
                messages = tuple(m for m in messages if m.id > newest)
            else:
                since = float(floor[1])
                messages = tuple(m for m in messages if m.timestamp > since)
        out: list[bytes] = []
        target = to_nick(notice.with_) if notice.with_ else channel(notice.room)
        if not self._caps & CAP_BATCH:
            batch = ""
        elif not batch:
            batch = f"h{messages[0].id if messages else 0}"
        if batch and "open" in part:
            out.append(build("BATCH", "+" + batch, "chathistory", target, source=SERVER))
        for message in messages:
            if isinstance(message, ev.ChatMessage):
                out.append(self._chat(message, viewer, batch))
            elif isinstance(message, ev.PrivateMessage):
                out.append(self._private(message, viewer, batch))
            elif isinstance(message, ev.FileShared):
                out.append(self._file(message, batch))
            else:
                tags = self._tags(message.timestamp, message.id, batch, _account(message))
                text = clean(message.topic)
                out.append(
                    said("TOPIC", source(message.username), channel(message.room), text, tags)
                )
        if batch and "close" in part:
            out.append(build("BATCH", "-" + batch, source=SERVER))
        return b"".join(out)

    def _pong(self, notice: ev.PongReply, me: str) -> bytes:
        ctx = self._ctx
        if ctx is None:
            return b""
        if ctx.reply is not None:
            return ctx.reply(me)
        if ctx.kind == "PING":
            return build("PONG", SERVER, str(notice.token or ""), source=SERVER)
        return b""

    def _error(self, notice: ev.Error, me: str) -> bytes:
        ctx = self._ctx
        code, text = notice.code, strip_controls(notice.message)
        kind, target = (ctx.kind, ctx.target) if ctx is not None else ("", "")
        if code == ErrorCode.NOT_JOINED:
            return numeric(rpl.ERR_NOTREGISTERED, me, "You have not registered")
        if code == ErrorCode.LINE_TOO_LONG:
            return numeric(rpl.ERR_INPUTTOOLONG, me, "Input line was too long")
        if kind in ("REGISTER", "NICK"):
            sasl = ctx is not None and ctx.extra == ("sasl",)
            if sasl and code in (ErrorCode.AUTH_FAILED, ErrorCode.AUTH_THROTTLED):
                return numeric(rpl.ERR_SASLFAIL, me, "SASL authentication failed")
            # A client waits for 903 or 904 before it ends CAP negotiation: never leave
            # it waiting, whatever else refused the sign-in.
            failed = numeric(rpl.ERR_SASLFAIL, me, f"SASL authentication failed: {text}")
            head = failed if sasl else b""
            if code in rpl.NICK_ERRORS:
                return head + numeric(rpl.NICK_ERRORS[code], me, target or "*", text)
            if code in (ErrorCode.AUTH_FAILED, ErrorCode.AUTH_THROTTLED):
                return numeric(rpl.ERR_PASSWDMISMATCH, me, "Password incorrect")
            if code == ErrorCode.LOGIN_REQUIRED:
                return head + numeric(rpl.ERR_PASSWDMISMATCH, me, text)
            if code == ErrorCode.BANNED:
                return head + numeric(rpl.ERR_YOUREBANNEDCREEP, me, text)
            if code == ErrorCode.ALREADY_JOINED:
                return numeric(rpl.ERR_ALREADYREGISTERED, me, "You may not reregister")
            if sasl:
                return failed
        if kind == "NOTICE":
            return b""  # a NOTICE is never answered automatically (RFC 2812, 3.3.2)
        if kind == "CHATHISTORY":  # once per request (AROUND runs two reads)
            if ctx is not None and ctx.extra and "open" not in ctx.extra[0]:
                return b""
            why = "INVALID_TARGET" if code in HISTORY_TARGET_ERRORS else "MESSAGE_ERROR"
            return build("FAIL", "CHATHISTORY", why, target or "*", text, source=SERVER)
        chan = room_of(target) is not None
        if kind == "PRIVMSG" and chan and code in rpl.CHANNEL_ERRORS["PRIVMSG"]:
            return numeric(rpl.CHANNEL_ERRORS["PRIVMSG"][code], me, target, text)
        if code == ErrorCode.EMPTY_MESSAGE:
            return numeric(rpl.ERR_NOTEXTTOSEND, me, "No text to send")
        if code == ErrorCode.UNKNOWN_USER:
            nick = ctx.extra[0] if ctx is not None and ctx.extra else target
            return numeric(rpl.ERR_NOSUCHNICK, me, nick or "*", "No such nick/channel")
        if kind == "JOIN" and code in rpl.CHANNEL_ERRORS["JOIN"]:
            return numeric(rpl.CHANNEL_ERRORS["JOIN"][code], me, target, text)
        if kind == "KICK" and code == ErrorCode.NOT_IN_ROOM and ctx is not None and ctx.extra:
            return numeric(rpl.ERR_USERNOTINCHANNEL, me, ctx.extra[0], target, text)
        if chan and code in rpl.CHANNEL_ERRORS["CHANNEL"]:
            return numeric(rpl.CHANNEL_ERRORS["CHANNEL"][code], me, target, text)
        if code == ErrorCode.FORBIDDEN:
            return numeric(rpl.ERR_NOPRIVILEGES, me, text)
        return server_notice(me, text)
