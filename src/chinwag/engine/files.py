"""Files shared in rooms: the engine's half of `POST /api/files` (the bytes are the web
front end's, server/files.py).

An upload arrives over HTTP, not as a command on a connection: the server finds the
signed-in session whose login token came with it (`session_for_token`), keeps the bytes,
then asks `share_file` for the room's `file` message, under a chat message's rules (member
of the room, not muted there, the message rate, the store taking writes).
"""

from __future__ import annotations

from collections.abc import Callable

from chinwag.bus.base import Envelope
from chinwag.engine.base import EngineBase
from chinwag.engine.limits import NOT_STORING
from chinwag.engine.names import room_key
from chinwag.engine.room import Room
from chinwag.engine.session import Session
from chinwag.passwords import token_hash
from chinwag.protocol import events as ev
from chinwag.protocol.events import ErrorCode


class FileCommands(EngineBase):
    def session_for_token(self, token: str) -> Session | None:
        """The signed-in session that holds this login token, if any."""
        hashed = token_hash(token)
        for session, held in self.tokens.items():
            if held == hashed and not session.closed:
                return session
        return None

    def in_room(self, session: Session, room: str) -> bool:
        return room_key(room.lstrip("#")) in session.rooms

    def share_file(
        self,
        session: Session,
        room_name: str,
        *,
        name: str,
        size: int,
        media_type: str,
        sha256: str,
        url: Callable[[str, int], str],
        now: float,
    ) -> list[Envelope] | ev.Error:
        """The `file` message for the room (`url(room key, message id)` says where it is
        downloaded), or why not."""
        room = self._member_room(session, room_name)
        if not isinstance(room, Room):
            return ev.Error(ErrorCode.NOT_IN_ROOM, f"You are not in room {room_name}")
        refused = self._speech_refused(session, room, now)  # muted, or a moderated room
        if refused is not None and isinstance(refused[0].notice, ev.Error):
            return refused[0].notice
        if not self.storing:
            return ev.Error(ErrorCode.STORE_UNAVAILABLE, NOT_STORING)
        if not self._take_message(session, now):
            return ev.Error(ErrorCode.RATE_LIMITED, "You are sending too fast; file not shared")
        assert session.identity is not None
        store = self.store
        message_id = store.next_id()
        notice = ev.FileShared(
            message_id,
            room.name,
            session.identity.name,
            name,
            size,
            media_type,
            url(room.key, message_id),
            now,
            sha256=sha256,
        )
        room.used = True
        store.append(notice)
        room.recent.append(notice)
        return [Envelope(room.audience, notice, notice.id)]
