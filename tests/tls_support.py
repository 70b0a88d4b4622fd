"""Helpers for TLS tests: certificates from a throwaway CA (trustme), TLS line clients."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import trustme

from chinwag.certs import fingerprint
from tests.helpers import LineClient


def issue(ca: trustme.CA, folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by `ca`: (cert file, key file)."""
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = folder / f"{name}.crt.pem", folder / f"{name}.key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


def tls_settings(cert: Path, key: Path) -> dict[str, Any]:
    """running_server's settings for TLS with these files on an ephemeral port."""
    return {"tls_cert": str(cert), "tls_key": str(key), "tls_port": 0}


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts `ca` (and verifies the host name)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def tls_client(port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> LineClient:
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=host, limit=1 << 22
    )
    return LineClient(reader, writer)


def peer_fingerprint(client: LineClient) -> str:
    der = client.writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    return fingerprint(der)


def file_fingerprint(cert: Path) -> str:
    return fingerprint(ssl.PEM_cert_to_DER_cert(cert.read_text()))
