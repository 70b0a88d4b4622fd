"""Certificates: fingerprints, shared by the server, the client and the CLI.

Not a layer of its own: a tool beside them, like `chinwag.passwords`.

A fingerprint is the SHA-256 of the certificate's DER bytes, written as colon-separated
upper-case hex: what `openssl x509 -noout -fingerprint -sha256` prints, so an operator can
compare the two by eye.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

TLS_PORT = 6697  # the IRC-over-TLS convention (RFC 7194): chat over TLS, like ours


def fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate's DER bytes: 'AB:CD:...' (32 pairs)."""
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def pem_fingerprint(path: str | Path) -> str:
    """The fingerprint of the first certificate in a PEM file (the server's own, in a chain)."""
    text = Path(path).read_text("ascii", errors="replace")
    begin = text.find("-----BEGIN CERTIFICATE-----")
    end_marker = "-----END CERTIFICATE-----"
    end = text.find(end_marker, begin)
    if begin < 0 or end < 0:
        raise ValueError(f"no PEM certificate in {path}")
    return fingerprint(ssl.PEM_cert_to_DER_cert(text[begin : end + len(end_marker)]))
