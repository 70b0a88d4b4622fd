"""Bans and mutes in force, and whom they name (engine state, no I/O).

A sanction names a *subject*: `account:<key>` for an account, `address:<host>` for a
guest, or `name:<key>` for a guest whose address is shared by others (the addresses in
`limit_exempt`: loopback, a reverse proxy). Banning such an address would shut out every
guest behind it, so there the guest's name is banned instead (it can come back under
another name: give such servers accounts).

Sanctions end by themselves: an expired one is dropped when it is next looked at.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from chinwag.engine.identity import Identity
from chinwag.engine.session import Session
from chinwag.storage.base import Sanction

BAN, MUTE = "ban", "mute"
SERVER = ""  # the room key of a server ban


def address_of(session: Session) -> str:
    """The client's address without its port (`[::1]:5000` -> `::1`)."""
    return session.peer.rpartition(":")[0].strip("[]")


def subject_of(identity: Identity, session: Session | None, shared: Collection[str]) -> str:
    """The one subject a new sanction on this user names."""
    if identity.account is not None:
        return f"account:{identity.account}"
    if session is not None:
        address = address_of(session)
        if address not in shared:
            return f"address:{address}"
    return f"name:{identity.key}"


def subjects_of(
    identity: Identity, session: Session, shared: Collection[str], *, address_too: bool
) -> tuple[str, ...]:
    """Every subject a sanction on this session may name: the account (or the guest's
    name), and the address where it is the client's own. An account's address counts only
    with `address_too` (server bans refuse logins from a banned address)."""
    first = (
        f"account:{identity.account}" if identity.account is not None else f"name:{identity.key}"
    )
    address = address_of(session)
    if address in shared or (identity.account is not None and not address_too):
        return (first,)
    return (first, f"address:{address}")


class Sanctions:
    def __init__(self) -> None:
        self.active: dict[tuple[str, str, str], Sanction] = {}
        # room key -> how many mutes it has: the chat path looks only at rooms with one.
        self.muted_rooms: dict[str, int] = {}

    def load(self, sanctions: Iterable[Sanction], now: float) -> list[Sanction]:
        """Those still in force; returns the ones that ended meanwhile (to delete)."""
        ended = []
        for sanction in sanctions:
            if sanction.until is not None and sanction.until <= now:
                ended.append(sanction)
            else:
                self.add(sanction)
        return ended

    def add(self, sanction: Sanction) -> None:
        key = (sanction.kind, sanction.room_key, sanction.subject)
        if key not in self.active and sanction.kind == MUTE:
            self.muted_rooms[sanction.room_key] = self.muted_rooms.get(sanction.room_key, 0) + 1
        self.active[key] = sanction

    def remove(self, kind: str, room_key: str, subject: str) -> Sanction | None:
        sanction = self.active.pop((kind, room_key, subject), None)
        if sanction is not None and kind == MUTE:
            left = self.muted_rooms[room_key] - 1
            if left:
                self.muted_rooms[room_key] = left
            else:
                del self.muted_rooms[room_key]
        return sanction

    def find(
        self, kind: str, room_key: str, subjects: Iterable[str], now: float
    ) -> Sanction | None:
        """The sanction in force on any of the subjects, if there is one."""
        for subject in subjects:
            sanction = self.active.get((kind, room_key, subject))
            if sanction is None:
                continue
            if sanction.until is not None and sanction.until <= now:
                self.remove(kind, room_key, subject)
                continue
            return sanction
        return None

    def forget_room(self, room_key: str) -> None:
        for key in [k for k in self.active if k[1] == room_key]:
            self.remove(*key)
