"""An in-memory `Store`: the reference backend for tests and for `--data :memory:`."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from chinwag.errors import StoreError
from chinwag.protocol.events import (
    ChatMessage,
    FileShared,
    PrivateMessage,
    StoredNotice,
    tombstone,
)
from chinwag.storage.base import (
    MAX_PAGE,
    AccountRecord,
    AuditRecord,
    RoomRecord,
    Sanction,
    Store,
    StoreState,
)


def room_of(notice: StoredNotice) -> str | None:
    """The room key a stored notice belongs to (None for private messages)."""
    if isinstance(notice, PrivateMessage):
        return None
    return notice.room.casefold()


_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Words as SQLite's unicode61 tokenizer sees them: letters and digits, lower-cased,
    without diacritics, so that both backends find the same messages."""
    if text.isascii():  # nothing to decompose: 15 times faster (the PostgreSQL store's commit)
        return _TOKEN.findall(text.lower())
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _TOKEN.findall(bare.lower())


def _contains(haystack: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(haystack[i : i + n] == phrase for i in range(len(haystack) - n + 1))


def matches(text: str, query: str) -> bool:
    """Every word of the query occurs in the text (a word with punctuation, like "don't",
    as a phrase of its parts); words that hold no letter or digit are ignored."""
    phrases = [p for p in (tokens(word) for word in query.split()) if p]
    if not phrases:
        return False
    words = tokens(text)
    return all(_contains(words, p) for p in phrases)


class MemoryStore(Store):
    def __init__(self) -> None:
        self._messages: list[StoredNotice] = []
        self._ids: list[int] = []
        self._rooms: dict[str, RoomRecord] = {}
        self._memberships: dict[str, set[str]] = {}
        self._parties: dict[int, tuple[str | None, str | None]] = {}  # private id -> accounts
        self._accounts: dict[str, AccountRecord] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token hash -> (account key, expires)
        self._room_roles: dict[str, dict[str, str]] = {}
        self._room_modes: dict[str, tuple[str, ...]] = {}
        self._invites: dict[str, set[str]] = {}
        self._sanctions: dict[tuple[str, str, str], Sanction] = {}
        self._audit: list[AuditRecord] = []
        self._pending = 0
        self._committed_id = 0
        self._appended_id = 0
        self._last_id = 0  # the last id handed out

    async def open(self) -> StoreState:
        used = {room_of(m) for m in self._committed()}
        return StoreState(
            last_id=self._last_id,
            rooms=[
                RoomRecord(r.name, r.topic, key in used, r.topic_by, r.topic_at)
                for key, r in self._rooms.items()
            ],
            memberships={k: set(v) for k, v in self._memberships.items()},
            accounts=set(self._accounts),
            room_roles={k: dict(v) for k, v in self._room_roles.items()},
            room_modes=dict(self._room_modes),
            invites={k: set(v) for k, v in self._invites.items()},
            sanctions=list(self._sanctions.values()),
        )

    async def close(self) -> None:
        await self.commit()

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    @property
    def last_id(self) -> int:
        return self._last_id

    def append(
        self, notice: StoredNotice, *, parties: tuple[str | None, str | None] = (None, None)
    ) -> None:
        if not self._appended_id < notice.id <= self._last_id:
            raise StoreError(f"message id {notice.id} was not handed out next by this store")
        self._appended_id = notice.id
        if isinstance(notice, PrivateMessage) and parties != (None, None):
            self._parties[notice.id] = parties
        self._messages.append(notice)
        self._ids.append(notice.id)
        self._pending += 1

    def save_room(self, room: RoomRecord) -> None:
        self._rooms[room.name.casefold()] = RoomRecord(
            room.name, room.topic, topic_by=room.topic_by, topic_at=room.topic_at
        )
        self._pending += 1

    def delete_room(self, room_key: str) -> None:
        self._rooms.pop(room_key, None)
        for rooms in self._memberships.values():
            rooms.discard(room_key)
        self._room_roles.pop(room_key, None)
        self._room_modes.pop(room_key, None)
        self._invites.pop(room_key, None)
        self._sanctions = {k: v for k, v in self._sanctions.items() if k[1] != room_key}
        self._pending += 1

    # ------------------------------------------------------------------ moderation

    def record(self, entry: AuditRecord) -> int:
        number = len(self._audit) + 1
        self._audit.append(replace(entry, id=number))
        self._pending += 1
        return number

    def save_sanction(self, sanction: Sanction) -> None:
        self._sanctions[(sanction.kind, sanction.room_key, sanction.subject)] = sanction
        self._pending += 1

    def lift_sanction(self, kind: str, room_key: str, subject: str) -> None:
        self._sanctions.pop((kind, room_key, subject), None)
        self._pending += 1

    def save_room_role(self, room_key: str, account: str, role: str | None) -> None:
        roles = self._room_roles.setdefault(room_key, {})
        if role is None:
            roles.pop(account, None)
        else:
            roles[account] = role
        self._pending += 1

    def save_room_modes(self, room_key: str, modes: tuple[str, ...]) -> None:
        self._room_modes[room_key] = modes
        self._pending += 1

    def save_invite(self, room_key: str, account: str, invited: bool) -> None:
        invited_ = self._invites.setdefault(room_key, set())
        if invited:
            invited_.add(account)
        else:
            invited_.discard(account)
        self._pending += 1

    def delete_message(self, message_id: int) -> None:
        at = bisect.bisect_left(self._ids, message_id)
        if at < len(self._ids) and self._ids[at] == message_id:
            found = self._messages[at]
            if isinstance(found, ChatMessage):
                self._messages[at] = replace(found, message="", deleted=True)
            elif isinstance(found, FileShared):
                self._messages[at] = tombstone(found)
        self._pending += 1

    async def message(self, message_id: int) -> StoredNotice | None:
        at = bisect.bisect_left(self._ids, message_id)
        if at < len(self._ids) and self._ids[at] == message_id and message_id <= self._committed_id:
            return self._messages[at]
        return None

    async def audit(
        self, room_key: str | None, since: float | None, limit: int
    ) -> list[AuditRecord]:
        rows = [
            e
            for e in self._audit
            if (room_key is None or e.room.casefold() == room_key)
            and (since is None or e.timestamp >= since)
        ]
        limit = max(0, min(limit, MAX_PAGE))
        return rows[-limit:] if limit else []

    def discard(self) -> list[StoredNotice]:
        end = bisect.bisect_right(self._ids, self._committed_id)
        dropped = self._messages[end:]
        del self._messages[end:], self._ids[end:]
        self._appended_id = self._last_id
        self._pending = 0
        return dropped

    def save_membership(self, account: str, room_key: str, member: bool) -> None:
        rooms = self._memberships.setdefault(account, set())
        if member:
            rooms.add(room_key)
        else:
            rooms.discard(room_key)
        self._pending += 1

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def committed_id(self) -> int:
        return self._committed_id

    async def commit(self) -> None:
        self.commit_now()

    def commit_now(self) -> bool:
        self._pending = 0
        self._committed_id = self._appended_id
        return True

    def _committed(self) -> list[StoredNotice]:
        end = bisect.bisect_right(self._ids, self._committed_id)
        return self._messages[:end]

    async def id_at(self, timestamp: float) -> int:
        for m in reversed(self._committed()):
            if m.timestamp < timestamp:
                return m.id
        return 0

    async def recent(self, room_key: str, limit: int) -> list[StoredNotice]:
        return await self.history(room_key, limit=limit)

    async def history(
        self,
        room_key: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[StoredNotice]:
        limit = max(0, min(limit, MAX_PAGE))
        rows = [m for m in self._committed() if room_of(m) == room_key]
        if after is not None:
            rows = [m for m in rows if m.id > after]
            if before is not None:
                rows = [m for m in rows if m.id < before]
            return rows[:limit]
        if before is not None:
            rows = [m for m in rows if m.id < before]
        return rows[-limit:] if limit else []

    async def missed(
        self,
        account: str | None,
        room_keys: Sequence[str],
        since: int,
        upto: int,
        limit: int,
    ) -> list[StoredNotice]:
        rooms = set(room_keys)
        out: list[StoredNotice] = []
        for m in self._committed():
            if not since < m.id <= upto:
                continue
            if isinstance(m, PrivateMessage):
                if account is not None and account in self._parties.get(m.id, ()):
                    out.append(m)
            elif room_of(m) in rooms:
                out.append(m)
            if len(out) >= limit:
                break
        return out

    async def search(self, room_key: str, query: str, limit: int) -> list[StoredNotice]:
        hits: list[StoredNotice] = [
            m
            for m in self._committed()
            if isinstance(m, ChatMessage)
            and room_of(m) == room_key
            and not m.deleted
            and matches(m.message, query)
        ]
        limit = max(0, min(limit, MAX_PAGE))
        return hits[-limit:] if limit else []

    # ------------------------------------------------------------------ accounts

    async def account(self, key: str) -> AccountRecord | None:
        record = self._accounts.get(key)
        return None if record is None else replace(record)

    async def accounts(self) -> list[AccountRecord]:
        return sorted((replace(r) for r in self._accounts.values()), key=lambda r: r.name.lower())

    async def create_account(self, record: AccountRecord) -> bool:
        if record.key in self._accounts:
            return False
        self._accounts[record.key] = replace(record)
        return True

    async def update_account(
        self, key: str, *, password_hash: str | None = None, role: str | None = None
    ) -> bool:
        record = self._accounts.get(key)
        if record is None:
            return False
        if password_hash is not None:
            record.password_hash = password_hash
        if role is not None:
            record.role = role
        return True

    async def delete_account(self, key: str) -> bool:
        if self._accounts.pop(key, None) is None:
            return False
        self._tokens = {h: t for h, t in self._tokens.items() if t[0] != key}
        self._memberships.pop(key, None)
        return True

    async def add_token(self, token_hash: str, key: str, created: float, expires: float) -> None:
        self._tokens[token_hash] = (key, expires)

    async def token_account(self, token_hash: str, now: float) -> AccountRecord | None:
        found = self._tokens.get(token_hash)
        if found is None or found[1] <= now:
            return None
        return await self.account(found[0])

    async def live_tokens(self, token_hashes: Sequence[str], now: float) -> set[str]:
        live = set()
        for token_hash in token_hashes:
            found = self._tokens.get(token_hash)
            if found is not None and found[1] > now and found[0] in self._accounts:
                live.add(token_hash)
        return live

    async def revoke_tokens(
        self, key: str, *, only: str | None = None, keep: str | None = None
    ) -> int:
        gone = [
            h
            for h, (account, _) in self._tokens.items()
            if account == key and (h == only if only is not None else h != keep)
        ]
        for token_hash in gone:
            del self._tokens[token_hash]
        return len(gone)

    async def private_history(
        self,
        account: str,
        other: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[StoredNotice]:
        pair = {(account, other), (other, account)}
        rows: list[StoredNotice] = [
            m
            for m in self._committed()
            if isinstance(m, PrivateMessage) and self._parties.get(m.id) in pair
        ]
        limit = max(0, min(limit, MAX_PAGE))
        if after is not None:
            rows = [m for m in rows if m.id > after]
            if before is not None:
                rows = [m for m in rows if m.id < before]
            return rows[:limit]
        if before is not None:
            rows = [m for m in rows if m.id < before]
        return rows[-limit:] if limit else []
