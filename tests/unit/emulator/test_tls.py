"""The emulator's CA: it vouches for loopback names only, and its key is never kept."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rollout.emulator.host.tls import ensure_certificates


def _permitted(ca_file: Path) -> list[object]:
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    return [name.value for name in constraints.value.permitted_subtrees or []]


def test_the_ca_is_constrained_to_loopback_and_its_key_is_not_written(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    assert _permitted(files.ca_file) == [
        "localhost",
        ipaddress.IPv4Network("127.0.0.0/8"),
        ipaddress.IPv6Network("::1/128"),
    ]
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == ["ca.pem", "server-key.pem", "server.pem"]
    before = [p.read_bytes() for p in (files.ca_file, files.cert_file, files.key_file)]
    ensure_certificates(tmp_path)  # a restart keeps what clients trust
    assert [p.read_bytes() for p in (files.ca_file, files.cert_file, files.key_file)] == before


def test_an_unconstrained_ca_of_an_earlier_version_is_replaced_and_its_key_deleted(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rollout emulator local CA")])
    now = datetime.now(UTC)
    unconstrained = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    files.ca_file.write_bytes(unconstrained.public_bytes(serialization.Encoding.PEM))
    old_key = files.ca_file.with_name("ca-key.pem")
    pkcs8 = serialization.PrivateFormat.PKCS8
    old_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
    ensure_certificates(tmp_path)
    assert not old_key.exists()
    assert "localhost" in _permitted(files.ca_file)
    server = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    assert server.issuer == x509.load_pem_x509_certificate(files.ca_file.read_bytes()).subject
