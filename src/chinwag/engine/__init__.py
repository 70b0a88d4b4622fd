"""Engine layer: sessions, rooms, presence and the rules of the chat.

It knows nothing about sockets or dialects: handlers take a command and return
deliveries (what to send to whom). The server layer writes them out.
"""
