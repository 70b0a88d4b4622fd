"""Accounts: register, log in (a password or a token), log out, change the password, and
the changes an admin makes from the command line while the server runs.

A mixin of `Engine`. Every handler here awaits (the store; the password hasher, in its
threads), so each re-checks after its awaits what may have changed meanwhile: the connection
may be gone (`session.closed`), an admin may have deleted the account. Answers never say
whether an account exists: an unknown name and a wrong password get the same `auth_failed`
after the same work (a decoy hash is verified). Passwords and tokens are never logged.

A guest who logs in or registers becomes the account without reconnecting (the plain
dialect's `/login`, the line client's `/register`): it takes the account's name and rooms
and gets a new welcome. One session per account: logging in again from elsewhere signs the
older session out ("signed in elsewhere"), which is what a client reconnecting over a
half-open connection needs.
"""

from __future__ import annotations

import logging
import math

from chinwag.bus.base import Envelope, ToSession
from chinwag.engine.identity import Identity, Role, guest
from chinwag.engine.joining import JoinCommands
from chinwag.engine.limits import error_reply, reply
from chinwag.engine.names import normalize_name, user_key, valid_username
from chinwag.engine.replica import RemoteUser
from chinwag.engine.sanctions import address_of
from chinwag.engine.session import Session
from chinwag.passwords import Busy, new_token, token_hash
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode
from chinwag.storage.base import AccountRecord

log = logging.getLogger("chinwag.engine")

MAX_PASSWORD = 1024  # characters; argon2 takes any length, but nobody types more
AUTH_FAILED = "Wrong username or password"
BUSY = "The server is busy with other logins; try again in a few seconds"
NO_ACCOUNTS = "This server has no accounts"


def role_of(record: AccountRecord) -> Role:
    try:
        role = Role(record.role)
    except ValueError:
        return Role.MEMBER
    return Role.MEMBER if role is Role.GUEST else role


class AccountCommands(JoinCommands):
    # ------------------------------------------------------------------ logging in

    def logs_in(self, command: ev.Join) -> bool:
        """A join that proves an account (and so awaits the store and the hasher)."""
        return command.password is not None or command.token is not None

    async def _login(self, session: Session, command: ev.Join, now: float) -> list[Envelope]:
        passwords = self.passwords
        if passwords is None:
            return error_reply(session, ErrorCode.FORBIDDEN, NO_ACCOUNTS)
        current = session.identity
        if current is not None and current.account is not None:
            return error_reply(
                session, ErrorCode.ALREADY_JOINED, f"Already signed in as {current.name}"
            )
        address = address_of(session)
        if command.token is not None:
            hashed = token_hash(command.token)
            record = await self.store.token_account(hashed, now)
            wanted = user_key(normalize_name(command.username or ""))
            if record is None or (command.username and wanted != record.key):
                log.info("%s: a login token was refused (expired or revoked)", session.peer)
                return error_reply(
                    session,
                    ErrorCode.AUTH_FAILED,
                    "That login token is not valid any more: log in with your password",
                )
            return self._signed_in(session, record, command, None, hashed, now)
        name = normalize_name(command.username or "")
        key = user_key(name) if valid_username(name) else ""
        wait = self.throttle.wait(key, address, now)
        if wait:
            return self._throttled(session, wait)
        record = await self.store.account(key) if key else None
        try:
            ok = await passwords.verify(
                record.password_hash if record else None, command.password or ""
            )
        except Busy:
            return error_reply(session, ErrorCode.AUTH_THROTTLED, BUSY)
        if not ok or record is None:
            count = self.throttle.failed(key, address, now)
            log.warning(
                "%s: failed login as %r (%d for that name in 10 minutes)",
                session.peer,
                name[:40],
                count,
            )
            return error_reply(session, ErrorCode.AUTH_FAILED, AUTH_FAILED)
        self.throttle.succeeded(key, address)
        # Made from the command line a moment ago, before its signal made the server read
        # the accounts again (server/app.py, reload_accounts): the store has it, so it is.
        self.registered.add(record.key)
        if passwords.needs_rehash(record.password_hash):  # the server's profile changed
            rehashed = await passwords.hash(command.password or "")
            await self.store.update_account(record.key, password_hash=rehashed)
        token = new_token()
        hashed = token_hash(token)
        await self.store.add_token(hashed, record.key, now, now + self._token_life())
        return self._signed_in(session, record, command, token, hashed, now)

    def _token_life(self) -> float:
        return self.limits.token_days * 86400.0

    def _throttled(self, session: Session, wait: float) -> list[Envelope]:
        return error_reply(
            session,
            ErrorCode.AUTH_THROTTLED,
            f"Too many failed logins; try again in {math.ceil(wait)} s",
        )

    def _signed_in(
        self,
        session: Session,
        record: AccountRecord,
        command: ev.Join | ev.Register,
        token: str | None,
        hashed: str,
        now: float,
    ) -> list[Envelope]:
        """The proof is good: make the session the account (synchronous from here on)."""
        if session.closed:  # the connection went while the store or the hasher worked
            return []
        if record.key not in self.registered:  # deleted by an admin meanwhile
            return error_reply(session, ErrorCode.AUTH_FAILED, AUTH_FAILED)
        current = session.identity
        if current is not None and current.account is not None:  # raced with itself
            return error_reply(
                session, ErrorCode.ALREADY_JOINED, f"Already signed in as {current.name}"
            )
        identity = Identity(record.name, record.key, record.key, role_of(record))
        ban = self._server_ban(session, identity, now)
        if ban is not None:
            self.tokens.pop(session, None)
            return self._shut_out(session, ban, now)
        out: list[Envelope] = []
        holder = self.memberships.online.get(identity.key)
        if holder is not None and holder is not session:
            out += self.sign_out_elsewhere(holder, "signed in elsewhere", now, newer=session)
        self.tokens[session] = hashed
        answer, presence = self.admit(session, identity, command.rooms, now, token=token)
        since = command.since if isinstance(command, ev.Join) else None
        if since is None:
            answer += self._replay_recent(session, self.memberships.of(session))
        else:
            answer.append(self._replay_missed(session, identity, since))
        log.info(
            "%s signed in as %s from %s (%s)",
            identity.name,
            identity.role.value,
            session.peer,
            session.dialect,
        )
        return out + answer + presence

    def displaced(self, session: Session, winner: RemoteUser, now: float) -> list[Envelope]:
        """Another node holds this session's name and wins it (server/nodes.py decides:
        a newer login of the same account, or a guest that took the name first): the
        session is signed out, and only the rooms the winner is not in see it leave."""
        identity = session.identity
        if identity is None:
            return []
        out: list[Envelope] = []
        if identity.account is not None and identity.account == winner.account:
            reason = "signed in elsewhere"
        elif session.resume and session.resume == winner.resume:  # the same guest, back there
            reason = "resumed on another connection"
        else:
            reason = "the name was taken on another server at the same moment"
            out += error_reply(session, ErrorCode.NAME_TAKEN, "Username already taken")
        log.info("%s: signed out, %s (node %s)", identity.name, reason, winner.node)
        return out + self.sign_out_elsewhere(session, reason, now, kept=winner.rooms)

    # ------------------------------------------------------------------ registering

    async def _register(self, session: Session, command: ev.Register, now: float) -> list[Envelope]:
        passwords = self.passwords
        if passwords is None:
            return error_reply(session, ErrorCode.FORBIDDEN, NO_ACCOUNTS)
        current = session.identity
        if current is not None and current.account is not None:
            return error_reply(
                session, ErrorCode.ALREADY_JOINED, f"Already signed in as {current.name}"
            )
        if self.limits.registration != "open":
            return error_reply(
                session,
                ErrorCode.REGISTRATION_CLOSED,
                "Registration is closed on this server; an admin can make you an account",
            )
        name = normalize_name(command.username)
        key = self._name_key(session, name)
        if not isinstance(key, str):
            return key
        refused = self._name_free(session, key) or self._password_allowed(session, command.password)
        if refused:
            return refused
        ban = self._server_ban(session, current or guest(name, key), now)
        if ban is not None:  # a banned address makes no accounts
            return self._shut_out(session, ban, now)
        address = address_of(session)
        if address not in self.limits.limit_exempt:
            bucket = self._bucket(f"register:{address}", now)
            if not bucket.take(now):
                return error_reply(
                    session,
                    ErrorCode.RATE_LIMITED,
                    "Too many new accounts from your address; try again later",
                )
        try:
            password_hash = await passwords.hash(command.password)
        except Busy:
            return error_reply(session, ErrorCode.AUTH_THROTTLED, BUSY)
        if session.closed:
            return []
        refused = self._name_free(session, key)  # someone may have taken it meanwhile
        if refused:
            return refused
        self.registered.add(key)  # from now on no guest can take the name
        record = AccountRecord(key, name, password_hash, Role.MEMBER.value, now)
        try:
            created = await self.store.create_account(record)
        except Exception:
            self.registered.discard(key)
            raise
        if not created:  # made from the command line meanwhile
            return self._name_registered(session)
        token = new_token()
        hashed = token_hash(token)
        await self.store.add_token(hashed, key, now, now + self._token_life())
        log.info("%s registered the account %s", session.peer, name)
        return self._signed_in(session, record, command, token, hashed, now)

    def _name_free(self, session: Session, key: str) -> list[Envelope] | None:
        if key in self.registered:
            return self._name_registered(session)
        return self._name_held(session, key)

    def _password_allowed(self, session: Session, password: str) -> list[Envelope] | None:
        shortest = self.limits.min_password
        if len(password) < shortest:
            return error_reply(
                session,
                ErrorCode.INVALID_PASSWORD,
                f"Passwords need at least {shortest} characters",
            )
        if len(password) > MAX_PASSWORD:
            return error_reply(
                session,
                ErrorCode.INVALID_PASSWORD,
                f"Passwords have at most {MAX_PASSWORD} characters",
            )
        return None

    # ------------------------------------------------------------------ signed in

    async def _logout(self, session: Session, command: ev.Logout, now: float) -> list[Envelope]:
        identity = session.identity
        hashed = self.tokens.pop(session, None)
        if identity is not None and identity.account is not None and hashed is not None:
            await self.store.revoke_tokens(identity.account, only=hashed)
            log.info("%s logged out", identity.name)
        message = "Logged out: next time, sign in with your password" if hashed else "Goodbye!"
        return [Envelope(ToSession(session), ev.Goodbye(message), close="logged out")]

    async def _change_password(
        self, session: Session, command: ev.ChangePassword, now: float
    ) -> list[Envelope]:
        passwords = self.passwords
        identity = session.identity
        if passwords is None or identity is None or identity.account is None:
            return error_reply(session, ErrorCode.FORBIDDEN, NO_ACCOUNTS)
        key = identity.account
        address = address_of(session)
        refused = self._password_allowed(session, command.new)
        if refused:
            return refused
        wait = self.throttle.wait(key, address, now)
        if wait:
            return self._throttled(session, wait)
        record = await self.store.account(key)
        try:
            ok = await passwords.verify(record.password_hash if record else None, command.old)
            if not ok:
                count = self.throttle.failed(key, address, now)
                log.warning(
                    "%s: wrong password given by %s to change it (%d in 10 minutes)",
                    session.peer,
                    identity.name,
                    count,
                )
                return error_reply(session, ErrorCode.AUTH_FAILED, "Wrong password")
            new_hash = await passwords.hash(command.new)
        except Busy:
            return error_reply(session, ErrorCode.AUTH_THROTTLED, BUSY)
        self.throttle.succeeded(key, address)
        await self.store.update_account(key, password_hash=new_hash)
        revoked = await self.store.revoke_tokens(key, keep=self.tokens.get(session))
        log.info("%s changed the password (%d other tokens revoked)", identity.name, revoked)
        return [
            reply(
                session,
                ev.Done("password", "Password changed; other devices must log in again"),
            )
        ]

    # ------------------------------------------------------------------ an admin's changes

    def accounts_changed(
        self, records: list[AccountRecord], live_tokens: set[str], now: float
    ) -> list[Envelope]:
        """The accounts as the store has them now (an admin changed them from the command
        line): sessions of deleted accounts, or whose token was revoked, end; roles follow.

        `live_tokens` are those of `self.tokens` that still log in (read with the records)."""
        by_key = {record.key: record for record in records}
        gone = self.registered - by_key.keys()
        self.registered = set(by_key)
        out: list[Envelope] = []
        memberships = self.memberships
        for session in list(memberships.online.values()):
            identity = session.identity
            if identity is None or identity.account is None:
                continue
            record = by_key.get(identity.account)
            if record is None:
                out += self.sign_out_elsewhere(session, "the account was deleted", now)
            elif self.tokens.get(session) not in live_tokens:  # revoked, or out of date
                out += self.sign_out_elsewhere(
                    session, "signed out by an admin, or the login expired", now
                )
            elif role_of(record) is not identity.role:
                memberships.regrade(session, role_of(record))
                log.info("%s is now %s", identity.name, role_of(record).value)
        for key in gone:
            memberships.forget_account(key)
        return out
