"""Certificates: fingerprints (shared by the server, the client and the CLI) and the
self-signed certificate `chinwag cert` writes for development.

Not a layer of its own: a tool beside them, like `chinwag.passwords`. Importing it costs
nothing (the `cryptography` package is imported only to make a certificate), so the
client can use `fingerprint` and `TLS_PORT`.

A fingerprint is the SHA-256 of the certificate's DER bytes, written as colon-separated
upper-case hex: what `openssl x509 -noout -fingerprint -sha256` prints, so an operator can
compare the two by eye.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

TLS_PORT = 6697  # the IRC-over-TLS convention (RFC 7194): chat over TLS, like ours
CERT_DAYS = 365
# Written under the data folder: next to the data it protects, and found by the same flag.
CERT_FILE = Path("tls") / "cert.pem"
KEY_FILE = Path("tls") / "key.pem"


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


@dataclass(frozen=True, slots=True)
class SelfSigned:
    """What `write_self_signed` wrote."""

    cert: Path
    key: Path
    fingerprint: str
    not_after: datetime.datetime


def make_self_signed(
    host: str, *, days: int = CERT_DAYS, now: datetime.datetime | None = None
) -> tuple[bytes, bytes, datetime.datetime]:
    """A self-signed ECDSA P-256 server certificate for `host` (and localhost, 127.0.0.1,
    ::1): (certificate PEM, unencrypted PKCS#8 key PEM, the end of its validity)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = now or datetime.datetime.now(datetime.UTC)
    not_after = now + datetime.timedelta(days=days)
    names: list[x509.GeneralName] = []
    for name in dict.fromkeys([host, "localhost", "127.0.0.1", "::1"]):  # in order, once
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    public = key.public_key()
    # The extensions a strict verifier (Python 3.13's VERIFY_X509_STRICT) wants of a
    # certificate that is its own issuer and is trusted directly (`chinwag chat --ca`).
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # a client's clock a bit behind
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem, not_after


def write_self_signed(data: str | Path, host: str, *, force: bool = False) -> SelfSigned:
    """Write DATA/tls/cert.pem and DATA/tls/key.pem (mode 0600); raises FileExistsError
    when either exists and not `force`, so a real certificate is never overwritten."""
    cert_path, key_path = Path(data) / CERT_FILE, Path(data) / KEY_FILE
    if not force:
        existing = [str(p) for p in (cert_path, key_path) if p.exists()]
        if existing:
            raise FileExistsError(
                f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}"
                " (--force replaces them)"
            )
    cert_pem, key_pem, not_after = make_self_signed(host)
    cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(key_path, key_pem, mode=0o600)
    _write_new(cert_path, cert_pem, mode=0o644)
    der = ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
    return SelfSigned(cert_path, key_path, fingerprint(der), not_after)


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    """Write through a new file made with `mode` (a key is never readable by others, not
    even for a moment), then rename it over `path`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)  # os.open's mode passes through the umask
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
