"""The `Store` interface: what the engine needs to remember.

The store hands out message ids (`next_id`): one sequence that increases strictly and is
never reused, also across restarts. Writes are buffered and synchronous (`append`,
`save_room`, `save_membership`): the engine calls them from its handlers without awaiting.
`commit()` makes everything buffered durable; the server commits before it lets any byte
that depends on a write leave the process (see docs/DEVELOPING.md, "Durability"). Reads and
commits are coroutines and never block the event loop (SQLite runs them in threads); a read
that runs over its time budget raises QueryTooExpensive.

What is kept per user is kept per *account* (a proven identity), never per name: a private
message records the accounts of its two parties (None for a guest), saved rooms belong to an
account, and `missed` replays private messages only to an account that was a party.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from chinwag.protocol.events import StoredNotice

MAX_PAGE = 500


@dataclass(slots=True)
class RoomRecord:
    name: str
    topic: str = ""
    used: bool = False  # something was ever said in it (loaded; ignored when saving)
    topic_by: str = ""  # who set the topic ("": unknown)
    topic_at: float = 0.0  # when (unix time; 0.0: unknown)


@dataclass(slots=True)
class AccountRecord:
    key: str  # the name's skeleton (engine.names.user_key): what makes a name taken
    name: str  # the name as registered
    password_hash: str  # argon2id, PHC string
    role: str = "member"  # member, moderator or admin (engine.identity.Role)
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class Sanction:
    """A ban or a mute. `room_key` "" is the whole server (bans only). `subject` says whom:
    "account:<key>", "address:<host>" (a guest's address) or "name:<key>" (a guest on an
    address that is shared, see engine/moderation.py)."""

    kind: str  # "ban" or "mute"
    room_key: str
    subject: str
    until: float | None = None  # unix time it ends; None: until lifted
    reason: str = ""
    by: str = ""
    name: str = ""  # the target's name when it was made, for lists


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One moderation action, as `chinwag audit` and the `audit` command list it."""

    id: int
    timestamp: float
    actor: str
    action: str
    target: str = ""
    room: str = ""  # the room's name ("": the server)
    reason: str = ""
    until: float | None = None


@dataclass(slots=True)
class StoreState:
    """What the engine loads once at start-up."""

    last_id: int = 0
    rooms: list[RoomRecord] = field(default_factory=list)
    # account key -> room keys the account keeps
    memberships: dict[str, set[str]] = field(default_factory=dict)
    accounts: set[str] = field(default_factory=set)  # registered name keys
    # Moderation: room key -> {account key: room role}, room key -> modes, room key ->
    # invited account keys, the bans and mutes in force.
    room_roles: dict[str, dict[str, str]] = field(default_factory=dict)
    room_modes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    invites: dict[str, set[str]] = field(default_factory=dict)
    sanctions: list[Sanction] = field(default_factory=list)


class Store(ABC):
    """Persistent history, rooms and memberships."""

    @abstractmethod
    async def open(self) -> StoreState:
        """Open (creating or migrating as needed) and load the start-up state."""

    @abstractmethod
    async def close(self) -> None:
        """Commit what is buffered and release resources."""

    # ---- ids

    @abstractmethod
    def next_id(self) -> int:
        """A new message id, above every id handed out before (also before a restart)."""

    @property
    @abstractmethod
    def last_id(self) -> int:
        """The highest id handed out so far (0: none)."""

    # A store shared by several servers (PostgreSQL) numbers messages in commit order, so
    # the ids `next_id` hands out are *provisional* (this process's own counter) and each
    # commit maps them to final ids (`settled`). The server holds whatever depends on a
    # provisional id until its commit and sends it with the final one (server/sequencer.py).
    # Other stores hand out final ids: this stays False and `settled` is never called.
    ids_at_commit = False

    def settled(self, provisional: int) -> tuple[int, int] | None:
        """A committed provisional id -> (its final id, the id of the message before it in
        its room: 0 for none or a private message); once per id. None: not committed."""
        return None

    async def last_committed(self) -> int:
        """The highest final id committed by anyone (a store of `ids_at_commit`)."""
        return self.committed_id

    # ---- buffered writes (synchronous; durable after the next commit)

    @abstractmethod
    def append(
        self, notice: StoredNotice, *, parties: tuple[str | None, str | None] = (None, None)
    ) -> None:
        """Buffer a message whose id came from next_id(), in the order ids were handed out.

        `parties` are the accounts of a private message's sender and target (None: a guest).
        """

    @abstractmethod
    def save_room(self, room: RoomRecord) -> None:
        """Buffer the creation of a room or a change of its topic."""

    @abstractmethod
    def save_membership(self, account: str, room_key: str, member: bool) -> None:
        """Buffer an account keeping (member=True) or no longer keeping a room."""

    @abstractmethod
    def delete_room(self, room_key: str) -> None:
        """Buffer the removal of a room (one that was never used) and of what keeps it."""

    # ---- moderation: buffered like the writes above (the engine awaits commit() before it
    # tells anyone), so that they keep their order with room creations and deletions.

    @abstractmethod
    def record(self, entry: AuditRecord) -> int:
        """Buffer an audit log entry; returns its id (entry.id is ignored)."""

    @abstractmethod
    def save_sanction(self, sanction: Sanction) -> None:
        """Buffer a ban or mute (replacing one of the same kind, room and subject)."""

    @abstractmethod
    def lift_sanction(self, kind: str, room_key: str, subject: str) -> None: ...

    @abstractmethod
    def save_room_role(self, room_key: str, account: str, role: str | None) -> None:
        """Buffer an account's role in a room (None: a plain member again)."""

    @abstractmethod
    def save_room_modes(self, room_key: str, modes: tuple[str, ...]) -> None: ...

    @abstractmethod
    def save_invite(self, room_key: str, account: str, invited: bool) -> None: ...

    @abstractmethod
    def delete_message(self, message_id: int) -> None:
        """Buffer the deletion of a message's text (history then gives a tombstone; the
        text leaves the full-text index too)."""

    @abstractmethod
    async def message(self, message_id: int) -> StoredNotice | None:
        """A committed message by id (a deleted one as its tombstone)."""

    @abstractmethod
    async def audit(
        self, room_key: str | None, since: float | None, limit: int
    ) -> list[AuditRecord]:
        """The newest `limit` audit entries (of a room, or all), oldest first."""

    @abstractmethod
    def discard(self) -> list[StoredNotice]:
        """Drop every buffered message (the server gave up storing them: nobody was shown
        them) and return them, so their senders can be told. Ids are not handed out again."""

    async def probe(self) -> None:  # noqa: B027 (an in-memory store cannot fail)
        """Raise StoreError if the store cannot write now (used while it is failing)."""

    @property
    @abstractmethod
    def pending(self) -> int:
        """How many buffered writes wait for commit()."""

    @property
    @abstractmethod
    def committed_id(self) -> int:
        """The highest message id known to be durable."""

    @abstractmethod
    async def commit(self) -> None:
        """Make every buffered write durable.

        It may be called while another commit() is running (the server's group commit
        and a rejoin that must read what it just wrote); it returns once everything
        buffered before the call is durable. On failure it raises StoreError and keeps
        the writes, so that the next commit retries them.
        """

    def commit_now(self) -> bool:
        """Commit without yielding to the loop, if this backend can (an embedded one).

        Returns False when the caller must `await commit()` instead.
        """
        return False

    # ---- accounts and login tokens: each call is its own durable transaction

    @abstractmethod
    async def account(self, key: str) -> AccountRecord | None: ...

    @abstractmethod
    async def accounts(self) -> list[AccountRecord]:
        """Every account, by name."""

    @abstractmethod
    async def create_account(self, record: AccountRecord) -> bool:
        """False if an account has that key already."""

    @abstractmethod
    async def update_account(
        self, key: str, *, password_hash: str | None = None, role: str | None = None
    ) -> bool:
        """False if there is no such account."""

    @abstractmethod
    async def delete_account(self, key: str) -> bool:
        """The account, its tokens and the rooms it keeps; its messages stay."""

    @abstractmethod
    async def add_token(self, token_hash: str, key: str, created: float, expires: float) -> None:
        """A login token, stored only as its hash."""

    @abstractmethod
    async def token_account(self, token_hash: str, now: float) -> AccountRecord | None:
        """The account a token (by hash) logs into, if it has not expired."""

    @abstractmethod
    async def live_tokens(self, token_hashes: Sequence[str], now: float) -> set[str]:
        """Those of the hashes that still log in (not revoked, not expired, account kept)."""

    @abstractmethod
    async def revoke_tokens(
        self, key: str, *, only: str | None = None, keep: str | None = None
    ) -> int:
        """Revoke an account's tokens: all of them, `only` that one, or all but `keep`."""

    @abstractmethod
    async def private_history(
        self,
        account: str,
        other: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[StoredNotice]:
        """A page of the private messages between two accounts, in id order (as history)."""

    # ---- reads (committed data only)

    @abstractmethod
    async def recent(self, room_key: str, limit: int) -> list[StoredNotice]:
        """The latest `limit` messages of a room, oldest first."""

    @abstractmethod
    async def history(
        self,
        room_key: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> list[StoredNotice]:
        """A page of a room in id order: the newest below `before`, or the oldest above
        `after` (when both are None: the newest)."""

    @abstractmethod
    async def id_at(self, timestamp: float) -> int:
        """The id of the newest committed message (of any room or conversation) said
        before `timestamp`, 0 if none: a time as a bound for `history`. Ids follow time
        (a clock set back breaks that, and the answer is then one of the boundaries)."""

    @abstractmethod
    async def missed(
        self,
        account: str | None,
        room_keys: Sequence[str],
        since: int,
        upto: int,
        limit: int,
    ) -> list[StoredNotice]:
        """Messages with since < id <= upto in those rooms, plus private messages of which
        the account was a party (none for a guest: account None), oldest first, at most
        `limit`."""

    @abstractmethod
    async def search(self, room_key: str, query: str, limit: int) -> list[StoredNotice]:
        """Messages of a room whose text matches `query`, oldest first."""
