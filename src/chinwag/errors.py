"""The one exception hierarchy of chinwag.

    ChinwagError                 root: catch this to catch anything chinwag raises
    +-- RemoteProtocolError      the peer sent bytes we cannot accept (its fault)
    |                            carries a stable `code` that becomes an `error` reply
    +-- LocalProtocolError       our own code misused a codec (our fault: a bug)
    +-- ConfigError              the configuration given to the server is invalid
    +-- StoreError               the storage backend failed or is inconsistent
    |   +-- QueryTooExpensive    a read ran over its time budget and was stopped
    +-- ClientError              the client library could not do what was asked
        +-- ConnectionClosed     the connection ended (cleanly or not)
        +-- WrongProtocol        the other end is not a chinwag server's native port

Remote bad input never becomes a crash: the server turns a RemoteProtocolError into an
error reply for that one client and keeps serving.
"""

from __future__ import annotations


class ChinwagError(Exception):
    """Root of every exception chinwag raises on purpose."""


class RemoteProtocolError(ChinwagError):
    """The remote end sent something that breaks the protocol."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LocalProtocolError(ChinwagError):
    """Our side used a codec wrongly; always a bug in chinwag."""


class ConfigError(ChinwagError):
    """The configuration is invalid."""


class StoreError(ChinwagError):
    """The storage backend failed."""


class QueryTooExpensive(StoreError):
    """A read ran over its time budget and was stopped (the store is fine)."""


class BusError(ChinwagError):
    """The bus could not reach its broker at start."""


class ClientError(ChinwagError):
    """The client library could not do what was asked."""


class ConnectionClosed(ClientError):
    """The connection to the server ended."""


class WrongProtocol(ClientError):
    """The port answered in another dialect, or is not chinwag at all (its message says
    what answered); the join was never sent."""
