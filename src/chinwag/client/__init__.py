"""Client layer: the asyncio client library and the front ends built on it.

from chinwag.client import ChatClient, ReconnectPolicy
"""

from chinwag.client.library import ChatClient, JoinRefused
from chinwag.client.status import (
    ClientEvent,
    Closed,
    Disconnected,
    Reconnected,
    Reconnecting,
    ReconnectPolicy,
)

__all__ = [
    "ChatClient",
    "ClientEvent",
    "Closed",
    "Disconnected",
    "JoinRefused",
    "ReconnectPolicy",
    "Reconnected",
    "Reconnecting",
]
