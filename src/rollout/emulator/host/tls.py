"""The emulator's own certificate authority and server certificate (generated once, then reused).

azure-core refuses bearer tokens over plain HTTP, so the emulator serves HTTPS. On first start it
creates a CA and a server certificate for 127.0.0.1 and localhost in the state directory; clients
trust `ca.pem`. A CA that clients trust must not be able to vouch for any other host: its name
constraints permit loopback names only, and its key signs the one server certificate and is never
written (a certificate near expiry is replaced with a new CA and certificate; clients read `ca.pem`
when they start). The server's key is written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_VALIDITY = dt.timedelta(days=825)
CA_VALIDITY = SERVER_VALIDITY  # the CA signs one server certificate
LOOPBACK = x509.NameConstraints(
    permitted_subtrees=[
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.IPv4Network("127.0.0.0/8")),
        x509.IPAddress(ipaddress.IPv6Network("::1/128")),
    ],
    excluded_subtrees=None,
)
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files the server and its clients use."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def tls_files(state_dir: Path) -> TlsFiles:
    """Where the certificate files live in a state directory (they may not exist yet)."""
    tls_dir = state_dir / "tls"
    return TlsFiles(tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server-key.pem")


def ensure_certificates(state_dir: Path) -> TlsFiles:
    """Return the CA and server certificate of `state_dir`, creating them on first use.

    They are replaced when the server certificate is close to expiry, or when the CA is one of an
    earlier version (no name constraints; its key kept in `ca-key.pem`, which is deleted).
    """
    files = tls_files(state_dir)
    tls_dir = files.ca_file.parent
    tls_dir.mkdir(parents=True, exist_ok=True)
    tls_dir.chmod(0o700)
    (tls_dir / "ca-key.pem").unlink(missing_ok=True)
    if _usable(files):
        return files
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue_ca(ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _issue_server(server_key, ca_cert, ca_key)
    _write_private(files.key_file, _key_pem(server_key))
    files.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _issue_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rollout emulator local CA")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(LOOPBACK, critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_server(
    key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _usable(files: TlsFiles) -> bool:
    """The files hold a name-constrained CA and a server certificate it issued, not near expiry."""
    if not (files.ca_file.exists() and files.cert_file.exists() and files.key_file.exists()):
        return False
    try:
        ca_cert = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    except ValueError:  # unreadable: made anew
        return False
    try:
        constrained = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value == LOOPBACK
    except x509.ExtensionNotFound:
        constrained = False
    fresh = cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE
    return constrained and fresh and cert.issuer == ca_cert.subject


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (created 0600, never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)
