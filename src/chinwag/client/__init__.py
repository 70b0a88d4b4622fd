"""Client layer: the asyncio client library and the front ends built on it.

from chinwag.client import ChatClient, ReconnectPolicy
"""

from chinwag.client.library import ChatClient, JoinRefused
from chinwag.client.state import ChatState, Conversation
from chinwag.client.status import (
    ClientEvent,
    Closed,
    Disconnected,
    OlderHistory,
    Reconnected,
    Reconnecting,
    ReconnectPolicy,
)

__all__ = [
    "ChatClient",
    "ChatState",
    "ClientEvent",
    "Closed",
    "Conversation",
    "Disconnected",
    "JoinRefused",
    "OlderHistory",
    "ReconnectPolicy",
    "Reconnected",
    "Reconnecting",
]
