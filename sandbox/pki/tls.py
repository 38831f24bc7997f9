"""HTTPS for the platforms: a server certificate each, issued by the sandbox PKI's CA.

Layout: `{data dir}/pki/tls/{node}.pem` holds a platform's key (ECDSA P-256: made in about a
millisecond, where an RSA key takes 50–100 ms) and its certificate, signed by the root CA of
`sandbox.pki.authority` (`pki/ca.pem`, the one file a client trusts). The certificate names, as
subject alternative names, 127.0.0.1, localhost and the platform's node name (its host name
under Compose), plus any the caller adds (its Kubernetes Service names, GSP_TLS_NAMES).

Made on the platform's first start and kept: a restart reads it (a few milliseconds). It is
made again only when it no longer fits: a name missing, under 30 days left, or not issued
by the CA now in the data dir. Only the CA's first making costs time (one RSA key, once per
data dir). Clients never need to "trust all": they trust `ca.pem` (`gsp-sandbox pki export`
writes it for each ecosystem).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.pki.authority import CA_FILE, _locked, _pem_cert, _pem_key, ensure_ca, pki_dir

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

TLS_DIR = "tls"
# The longest validity Apple's clients accept for a TLS server certificate (825 days).
SERVER_DAYS = 825
RENEW_BEFORE = timedelta(days=30)
LOCAL_NAMES = ("localhost", "127.0.0.1")


def server_names(node: str, extra: Iterable[str] = ()) -> list[str]:
    """The names a platform's certificate carries: loopback, its node name, then `extra`."""
    names: list[str] = []
    for name in (*LOCAL_NAMES, node, *extra):
        cleaned = name.strip().lower()
        if cleaned and cleaned not in names:
            names.append(cleaned)
    return names


def kubernetes_names(node: str, namespace: str) -> list[str]:
    """How a pod reaches a Service of the node's name: short, namespaced and fully qualified."""
    return [
        node,
        f"{node}.{namespace}",
        f"{node}.{namespace}.svc",
        f"{node}.{namespace}.svc.cluster.local",
    ]


def credentials_path(data_dir: Path, node: str, folder: str = "") -> Path:
    base = pki_dir(data_dir) / TLS_DIR
    return (base / folder if folder else base) / f"{node}.pem"


def _general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    from cryptography import x509

    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def server_certificate(
    key: ec.EllipticCurvePrivateKey,
    node: str,
    names: Sequence[str],
    ca_key: rsa.RSAPrivateKey,
    ca_certificate: x509.Certificate,
    *,
    days: int = SERVER_DAYS,
) -> x509.Certificate:
    """A TLS server certificate for one platform, its names as subject alternative names."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from contracts.certificates import leaf_certificate

    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GSP sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, node[:64]),
        ]
    )
    return leaf_certificate(
        key,
        subject,
        ca_key,
        ca_certificate,
        days=days,
        non_repudiation=False,
        extensions=[
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
            x509.SubjectAlternativeName(_general_names(names)),
        ],
    )


def _fits(path: Path, names: Sequence[str], ca_file: Path) -> bool:
    """The kept certificate names every name, has time left, and the CA now here issued it."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
        ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
        certificate.verify_directly_issued_by(ca)
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False  # unreadable, another CA's, or without names: made again
    have = {str(n).lower() for n in san.get_values_for_type(x509.DNSName)}
    have |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    left = certificate.not_valid_after_utc - datetime.now(UTC)
    return set(_canonical(names)) <= have and left > RENEW_BEFORE


def _canonical(names: Sequence[str]) -> list[str]:
    out = []
    for name in names:
        try:
            out.append(str(ipaddress.ip_address(name)))
        except ValueError:
            out.append(name.lower())
    return out


def _replace(path: Path, content: bytes) -> None:
    """Write `content` at `path` whole (a reader sees the old file or the new, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def ensure_server_credentials(
    data_dir: Path, node: str, names: Sequence[str], *, folder: str = ""
) -> Path:
    """The PEM file (key, then certificate) the platform serves HTTPS with, made if missing
    or no longer fitting; `folder` keeps another set apart (a Kubernetes namespace's)."""
    path = credentials_path(data_dir, node, folder)
    ca_file = pki_dir(data_dir) / CA_FILE
    if path.is_file() and _fits(path, names, ca_file):
        return path
    from cryptography.hazmat.primitives.asymmetric import ec

    ca = ensure_ca(data_dir)
    with _locked(path.parent):
        if path.is_file() and _fits(path, names, ca_file):
            return path  # another process made it meanwhile
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = server_certificate(key, node, names, ca.key, ca.certificate)
        _replace(path, _pem_key(key) + _pem_cert(certificate))
    return path


def server_context(certificate: Path, key: Path | None = None) -> ssl.SSLContext:
    """The listener's TLS context: TLS 1.2 or newer, HTTP/1.1 offered by ALPN."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    context.set_alpn_protocols(["http/1.1"])
    return context
