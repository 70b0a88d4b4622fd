"""Human sentences for moderation notices, shared by every dialect (sans-I/O, no state).

The native dialect sends one as the `message` of a `moderation` notice; the text dialects
print it as a server line. Times are given as durations from the notice's own timestamp,
so that no dialect needs to know the reader's time zone.
"""

from __future__ import annotations

from chinwag.protocol import events as ev


def duration(seconds: float) -> str:
    """`90` -> `2 minutes`: rounded to the largest unit that fits."""
    seconds = max(0, round(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _for(notice: ev.Moderated) -> str:
    if notice.until is None:
        return ""
    return f" for {duration(notice.until - notice.timestamp)}"


def _why(notice: ev.Moderated) -> str:
    return f": {notice.reason}" if notice.reason else ""


def describe_moderation(notice: ev.Moderated) -> str:
    who, by = notice.username or "", notice.by
    where = f" from {notice.room}" if notice.room else " from the server"
    match notice.action:
        case "kick":
            return f"{who} was kicked from {notice.room} by {by}{_why(notice)}"
        case "ban":
            return f"{who} was banned{where} by {by}{_for(notice)}{_why(notice)}"
        case "unban":
            return f"{who} may come back{'' if notice.room is None else ' to ' + notice.room}"
        case "mute":
            return f"{who} was muted in {notice.room} by {by}{_for(notice)}{_why(notice)}"
        case "unmute":
            return f"{who} may speak again in {notice.room}"
        case "role":
            place = f"in {notice.room}" if notice.room else "on this server"
            return f"{by} made {who} {notice.role} {place}"
        case "invite":
            return f"{by} invited {who} to {notice.room}"
        case "mode":
            modes = ", ".join(m.replace("_", " ") for m in notice.modes) or "no modes"
            return f"{by} set the modes of {notice.room}: {modes}"
    return f"{by}: {notice.action} {who}".rstrip()


def describe_deleted(notice: ev.Deleted) -> str:
    return f"{notice.by} deleted message {notice.id}"


def describe_audit(notice: ev.AuditLog) -> str:
    lines = [f"Moderation log{' of ' + notice.room if notice.room else ''}:"]
    for e in notice.entries:
        target = f" {e.target}" if e.target else ""
        room = f" in {e.room}" if e.room else ""
        reason = f" ({e.reason})" if e.reason else ""
        lines.append(f"#{e.id} {e.actor} {e.action}{target}{room}{reason}")
    if not notice.entries:
        lines.append("(empty)")
    return " | ".join(lines)
