"""Protocol layer: sans-I/O codecs that turn bytes into events and notices into bytes.

Nothing in this package imports asyncio or socket.
"""
