"""Client layer: the asyncio client library and the front ends built on it."""
