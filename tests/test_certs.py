"""`chinwag cert`: a self-signed certificate for development, and fingerprints."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from chinwag.certs import fingerprint, pem_fingerprint, write_self_signed
from chinwag.cli import main
from tests.helpers import running_server
from tests.tls_support import file_fingerprint, peer_fingerprint, tls_client, tls_settings

FINGERPRINT = re.compile(r"^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_fingerprint_is_colon_separated_upper_case_sha256():
    assert fingerprint(b"").startswith("E3:B0:C4:42:98:FC:1C:14")
    assert FINGERPRINT.match(fingerprint(b"anything"))


def test_a_self_signed_certificate_is_written_with_private_modes(tmp_path: Path):
    data = tmp_path / "data"
    made = write_self_signed(data, "chat.example")
    assert (made.cert, made.key) == (data / "tls" / "cert.pem", data / "tls" / "key.pem")
    assert mode(made.key) == 0o600 and mode(made.cert) == 0o644 and mode(data / "tls") == 0o700
    assert made.fingerprint == file_fingerprint(made.cert) == pem_fingerprint(made.cert)
    assert FINGERPRINT.match(made.fingerprint)
    assert not list((data / "tls").glob(".*"))  # no temporary file left behind
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["chat.example", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=364) < lifetime < datetime.timedelta(days=366)
    if shutil.which("openssl"):  # the same text `openssl x509 -fingerprint -sha256` prints
        shown = subprocess.run(
            ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(made.cert)],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert shown.strip().endswith("=" + made.fingerprint)


def test_existing_files_are_kept_unless_forced(tmp_path: Path):
    first = write_self_signed(tmp_path, "localhost")
    with pytest.raises(FileExistsError, match="--force"):
        write_self_signed(tmp_path, "localhost")
    first.key.unlink()  # either file is enough to refuse
    with pytest.raises(FileExistsError, match=r"cert\.pem already exists"):
        write_self_signed(tmp_path, "localhost")
    assert file_fingerprint(first.cert) == first.fingerprint  # untouched
    again = write_self_signed(tmp_path, "localhost", force=True)
    assert again.fingerprint != first.fingerprint
    assert file_fingerprint(again.cert) == again.fingerprint and mode(again.key) == 0o600


def test_the_certificate_serves_and_verifies_strictly_for_its_names(tmp_path: Path):
    """Trusted directly (`chinwag chat --ca cert.pem`), even by a strict verifier."""

    async def scenario():
        made = write_self_signed(tmp_path, "localhost")
        async with running_server(**tls_settings(made.cert, made.key)) as server:
            assert server.tls_port is not None
            for host in ("127.0.0.1", "localhost"):
                context = ssl.create_default_context(cafile=str(made.cert))
                context.verify_flags |= ssl.VERIFY_X509_STRICT
                client = await tls_client(server.tls_port, context, host=host)
                assert peer_fingerprint(client) == made.fingerprint
                await client.join(f"user-{len(host)}")
                await client.close()

    asyncio.run(scenario())


def test_chinwag_cert_prints_the_fingerprint_and_the_serve_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = tmp_path / "my data"
    assert main(["cert", "--data", str(data), "--host", "chat.example"]) == 0
    out = capsys.readouterr().out
    printed = re.search(r"SHA-256 fingerprint: (\S+)", out)
    assert printed and printed.group(1) == file_fingerprint(data / "tls" / "cert.pem")
    assert "chinwag serve --data" in out and "--tls-cert" in out and "--tls-key" in out
    assert f"'{data}/tls/key.pem'" in out  # quoted: the folder has a space
    assert "PRIVATE KEY" not in out
    assert main(["cert", "--data", str(data)]) == 1
    assert "already exist" in capsys.readouterr().err
    assert main(["cert", "--data", str(data), "--force"]) == 0
    assert main(["cert", "--data", ":memory:"]) == 2
