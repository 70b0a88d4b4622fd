"""The web front end's HTTP side: routes, security headers, static files, metrics.

No sockets here: `server/websocket.py` owns the connections and asks `WebSite` what to
answer to each request. The page itself is in `static/` (plain ES modules, no build step).
"""
