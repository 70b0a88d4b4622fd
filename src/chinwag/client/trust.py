"""Trusting a TLS server: the certificate authorities first, else the certificate pinned on
first use, the way SSH trusts host keys.

Client layer. `open_tls` opens the connection `ChatClient` talks over (`TlsOptions`); the
rest are small functions over the known-hosts file: one `HOST:PORT FINGERPRINT` line per
server, the SHA-256 of its certificate (chinwag.certs.fingerprint).

How a server is trusted:
1. Its certificate verifies for the host name against the system's CAs (and `--ca FILE`):
   connect; nothing is pinned.
2. Verification failed only because nobody we trust issued it (self-signed, unknown
   issuer): connect again without verifying and read its fingerprint. A server never seen
   before is pinned, with a warning that shows the fingerprint; the pinned one connects
   silently; any other is refused (`CertificateChanged`), like SSH's "REMOTE HOST
   IDENTIFICATION HAS CHANGED".
3. Any other failure (expired, another host's name...) is refused.
The streams are handed over only once this is decided: nothing (no name, no password) is
ever sent to a server that was not trusted.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from chinwag.certs import fingerprint
from chinwag.errors import ClientError

MIN_VERSION = ssl.TLSVersion.TLSv1_2
# OpenSSL's verify codes that say "nobody you trust issued this", and nothing worse: the
# only failures a pin may stand in for.
UNKNOWN_ISSUER = frozenset(
    {
        2,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        18,  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        19,  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        20,  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        21,  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    }
)


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """How `ChatClient` opens TLS connections (reconnects included)."""

    ca: str | None = None  # a CA or certificate file (PEM) to trust besides the system's
    known_hosts: Path | None = None  # the pins; None: known_hosts_path()
    notify: Callable[[str], None] = field(default=_to_stderr)  # where a new pin is announced


class CertificateChanged(ClientError):
    """The server's certificate is not the one pinned for it: refused, nothing sent."""

    def __init__(self, server: str, pinned: str, seen: str, advice: str) -> None:
        self.server = server
        self.pinned = pinned
        self.seen = seen
        super().__init__(
            "\n".join(
                [
                    "@" * 64,
                    "@  WARNING: THE SERVER'S CERTIFICATE HAS CHANGED!",
                    "@" * 64,
                    f"The TLS certificate of {server} CHANGED since you last connected.",
                    "Someone may be intercepting the connection (or its operator replaced",
                    "the certificate).",
                    f"  pinned: {pinned}",
                    f"  now:    {seen}",
                    "Refusing to connect; nothing was sent.",
                    advice,
                ]
            )
        )


# ---------------------------------------------------------------------- the known-hosts file


def known_hosts_path(environ: Mapping[str, str] | None = None) -> Path:
    """$CHINWAG_CONFIG_HOME/known_hosts, else $XDG_CONFIG_HOME/chinwag/known_hosts, else
    ~/.config/chinwag/known_hosts."""
    env = os.environ if environ is None else environ
    if env.get("CHINWAG_CONFIG_HOME"):
        return Path(env["CHINWAG_CONFIG_HOME"]) / "known_hosts"
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "chinwag" / "known_hosts"


def address(host: str, port: int) -> str:
    """How a server is named in the file: host:port, [v6 address]:port; case-folded."""
    host = host.lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_known_hosts(text: str) -> dict[str, tuple[str, int]]:
    """address -> (fingerprint, line number); the first line for an address counts.
    Blank lines, `#` comments and lines that are not two words are skipped."""
    pins: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if len(words) != 2 or words[0].startswith("#"):
            continue
        pins.setdefault(words[0].lower(), (words[1].upper(), number))
    return pins


def format_entry(server: str, pin: str) -> str:
    return f"{server} {pin}\n"


def read_known_hosts(path: Path) -> dict[str, tuple[str, int]]:
    try:
        return parse_known_hosts(path.read_text("utf-8", errors="replace"))
    except FileNotFoundError:
        return {}


def remember(path: Path, server: str, pin: str) -> None:
    """Append a pin; the folder is made 0700 and the file kept 0600 (it says whom you talk
    to)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)  # mkdir's mode passes through the umask
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        os.fchmod(fd, 0o600)
        size = handle.seek(0, os.SEEK_END)
        missing_newline = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        handle.write((("\n" if missing_newline else "") + format_entry(server, pin)).encode())


def judge(
    pins: Mapping[str, tuple[str, int]], server: str, seen: str, pinned: str | None = None
) -> Literal["same", "new", "changed"]:
    """'same', 'new' or 'changed': `seen` against the pin this client already holds
    (`pinned`, from an earlier connection), else against the file's."""
    if pinned is None:
        entry = pins.get(server)
        if entry is None:
            return "new"
        pinned = entry[0]
    return "same" if pinned == seen else "changed"


# ---------------------------------------------------------------------- connecting


def verifying_context(ca: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = MIN_VERSION
    if ca is not None:
        context.load_verify_locations(cafile=ca)
    return context


def pinning_context() -> ssl.SSLContext:
    """No verification: used only after verification failed for an unknown issuer, and
    only to read the certificate and compare it with the pin before anything is sent."""
    context = ssl.create_default_context()
    context.minimum_version = MIN_VERSION
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def peer_fingerprint(writer: asyncio.StreamWriter) -> str:
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise ClientError("the server sent no certificate")
    return fingerprint(der)


async def open_tls(
    host: str, port: int, options: TlsOptions, *, limit: int, pinned: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """A trusted TLS connection (see the module docstring) and the fingerprint of the
    server's certificate, which the caller passes back as `pinned` when it reconnects.
    Raises ssl.SSLError (an OSError) or CertificateChanged; the caller bounds the time."""
    try:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=verifying_context(options.ca), server_hostname=host, limit=limit
        )
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code not in UNKNOWN_ISSUER:
            raise
        reason = exc.verify_message
    else:
        try:
            return reader, writer, peer_fingerprint(writer)
        except BaseException:
            writer.close()
            raise
    reader, writer = await asyncio.open_connection(
        host, port, ssl=pinning_context(), server_hostname=host, limit=limit
    )
    try:
        seen = peer_fingerprint(writer)
        _check_pin(host, port, options, seen, pinned, reason)
    except BaseException:
        writer.close()
        raise
    return reader, writer, seen


def _check_pin(
    host: str, port: int, options: TlsOptions, seen: str, pinned: str | None, reason: str
) -> None:
    """Accept the pinned certificate, pin a new server's (loudly), refuse a changed one."""
    path = options.known_hosts or known_hosts_path()
    server = address(host, port)
    pins = read_known_hosts(path)
    verdict = judge(pins, server, seen, pinned)
    if verdict == "same":
        return
    if verdict == "changed":
        entry = pins.get(server)
        if entry is not None and pinned in (None, entry[0]):
            raise CertificateChanged(
                server,
                entry[0],
                seen,
                f"If you trust the new certificate, remove line {entry[1]} ({server}) of\n{path}.",
            )
        raise CertificateChanged(
            server,
            pinned or "?",
            seen,
            "This client saw another certificate when it first connected; to trust the new\n"
            "one, start it again (and compare the fingerprint it shows).",
        )
    try:
        remember(path, server, seen)
        kept = f"It is now pinned in {path}"
    except OSError as exc:
        kept = f"It could not be saved in {path} ({exc}); it is trusted for this session"
    options.notify(
        "\n".join(
            [
                f"WARNING: first TLS connection to {server}. No authority you trust vouches",
                f"for its certificate ({reason}). Its SHA-256 fingerprint is",
                f"  {seen}",
                "Check it against the one the server's operator gave you (`chinwag cert`",
                "prints it); if they differ, quit now: someone may be intercepting the",
                "connection.",
                f"{kept}: chinwag will refuse this server if its certificate changes.",
            ]
        )
    )
