"""Server layer: the only asyncio code on the server side.

Listeners accept connections; each connection pumps bytes through its codec into the
engine and writes the engine's deliveries back out, bounded and coalesced.
"""
