"""TLS on the server: the one SSLContext of the TLS listener, and its certificate reloaded
in place.

Server layer. The listener (`listeners.TcpListener` given this context) serves the main
port's front end, dialect detection included, over TLS 1.2 or later; connections never know
the difference. `ServerTls.reload` (SIGHUP, server/run.py) loads the certificate files again
into the same context: handshakes from then on use the new certificate, connections already
made keep theirs, and a certificate that does not load leaves the old one serving.

Nothing here reads or logs the private key itself: OpenSSL reads the file.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from chinwag.certs import pem_fingerprint
from chinwag.errors import ConfigError

log = logging.getLogger("chinwag.server")

MIN_VERSION = ssl.TLSVersion.TLSv1_2
# A TLS connection that has not finished its handshake this long after it was accepted is
# closed (it is not a Connection yet, so join_timeout cannot see it); so is one whose peer
# does not answer our close_notify.
HANDSHAKE_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10.0


def server_context() -> ssl.SSLContext:
    """A server context: TLS 1.2 or later, Python's default ciphers, no certificate yet."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MIN_VERSION
    return context


def _no_password() -> bytes:
    # Without a callback OpenSSL would ask for the passphrase on the terminal, and a
    # reload (SIGHUP) would hang the server waiting for it.
    raise ConfigError("the key is encrypted; chinwag needs an unencrypted key (mode 0600)")


class ServerTls:
    """The TLS listener's context and the files it loads its certificate from."""

    def __init__(self, cert: str | Path, key: str | Path) -> None:
        self.cert = Path(cert)
        self.key = Path(key)
        self.context = server_context()
        try:
            self._load(self.context)
        except (OSError, ssl.SSLError, ValueError, ConfigError) as exc:
            raise ConfigError(f"cannot use TLS certificate {cert} with key {key}: {exc}") from None
        self.fingerprint = self._fingerprint()
        log.info("TLS certificate %s, SHA-256 fingerprint %s", self.cert, self.fingerprint)

    def _load(self, context: ssl.SSLContext) -> None:
        context.load_cert_chain(self.cert, self.key, password=_no_password)

    def _fingerprint(self) -> str:
        try:
            return pem_fingerprint(self.cert)
        except (OSError, ValueError):  # loaded a moment ago: only a race with a rewrite
            return "?"

    def reload(self) -> bool:
        """Load the certificate files again (SIGHUP): True if the new ones serve now.

        They are tried in a scratch context first: a `load_cert_chain` that fails half-way
        (a key that does not match the certificate) can leave a context holding the new
        certificate without a usable key, and every handshake would then fail.
        """
        try:
            self._load(server_context())
            self._load(self.context)
        except (OSError, ssl.SSLError, ValueError, ConfigError) as exc:
            log.error(
                "TLS: cannot reload certificate %s with key %s (%s); still serving the old one",
                self.cert,
                self.key,
                exc,
            )
            return False
        self.fingerprint = self._fingerprint()
        log.info("TLS: reloaded %s, SHA-256 fingerprint %s", self.cert, self.fingerprint)
        return True
