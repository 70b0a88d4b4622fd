"""What the web front end answers to an HTTP request (no I/O).

One request per TCP connection (`Connection: close`): the page is a handful of small files,
and after that the browser holds one WebSocket. GET (and HEAD) only; a request with a body
is refused by the HTTP parser before it gets here.
"""

from __future__ import annotations

import email.utils
import http
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

# No inline script, no eval, nothing from another host, never in a frame. `connect-src
# 'self'` covers ws: and wss: to the page's own host (CSP level 3).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}


def load_static() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: URL path -> (body, content type)."""
    files: dict[str, tuple[bytes, str]] = {}
    root = resources.files("chinwag.web") / "static"

    def walk(folder: Any, prefix: str) -> None:
        for item in folder.iterdir():
            if item.is_dir():
                walk(item, f"{prefix}{item.name}/")
                continue
            suffix = "." + item.name.rpartition(".")[2]
            kind = TYPES.get(suffix) or mimetypes.guess_type(item.name)[0]
            if kind is not None and not item.name.startswith("."):
                files[f"{prefix}{item.name}"] = (item.read_bytes(), kind)

    walk(root, "/")
    files["/"] = files["/index.html"]
    return files


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer, or `upgrade` to accept the WebSocket handshake."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    upgrade: bool = False


class WebSite:
    def __init__(
        self,
        *,
        health: Callable[[], dict[str, Any]],
        metrics: Callable[[], tuple[bytes, str]],
        origins: tuple[str, ...] = (),
        secure: bool = False,
    ) -> None:
        self.health = health
        self.metrics = metrics
        self.origins = frozenset(origins)
        self.scheme = "https" if secure else "http"
        self.static = load_static()

    def route(self, request: Request) -> Reply:
        method = request.method
        if method not in ("GET", "HEAD"):
            return Reply(405, b"GET only\n")
        path = request.path.partition("?")[0]
        if path == "/ws":
            if not self.origin_allowed(request.headers):
                return Reply(403, b"Origin not allowed\n")
            return Reply(101, upgrade=True)
        if path == "/health":
            return Reply(200, orjson.dumps(self.health()), "application/json")
        if path == "/metrics":
            body, kind = self.metrics()
            return Reply(200, body, kind)
        found = self.static.get(path)
        if found is None:
            return Reply(404, b"Not found\n")
        return Reply(200, *found)

    def origin_allowed(self, headers: Headers) -> bool:
        """The page's own origin (or the configured ones) may open /ws. No Origin header:
        not a browser (browsers always send one), so no cross-site hijack to fear."""
        origin = headers.get("Origin")
        if origin is None:
            return True
        if self.origins:
            return origin in self.origins
        host = headers.get("Host")
        return host is not None and origin == f"{self.scheme}://{host}"

    def response(self, request: Request, reply: Reply) -> Response:
        """The HTTP response for a reply that is not an upgrade."""
        headers = Headers(
            [
                ("Date", email.utils.formatdate(usegmt=True)),
                ("Connection", "close"),
                ("Content-Type", reply.content_type),
                ("Content-Length", str(len(reply.body))),
                ("Cache-Control", "no-cache"),
                *SECURITY_HEADERS,
            ]
        )
        if reply.status == 405:
            headers["Allow"] = "GET, HEAD"
        body = b"" if request.method == "HEAD" else reply.body
        phrase = http.HTTPStatus(reply.status).phrase
        return Response(reply.status, phrase, headers, body)
