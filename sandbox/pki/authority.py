"""The sandbox's PKI: a root CA and one signing certificate per agency, kept in the data dir.

Layout of `{data dir}/pki/`:

- `ca.pem`: the root CA certificate, the trust anchor every platform verifies signatures with;
- `ca-key.pem`: its key (unencrypted: this is a sandbox);
- `agencies/{OrganId}.pem`: an agency's key and certificate, in one file;
- `tls/{node}.pem`: a platform's HTTPS key and certificate (sandbox.pki.tls).

The CA is made before the nodes start on a fresh data dir (one RSA key, 0.1–0.7 s, while the
launcher's zygote imports): the platforms' HTTPS certificates (sandbox.pki.tls) are issued by it.
The agencies' certificates are not in the way of start-up: once the nodes are healthy, `up`
starts a low-priority process that makes what is missing (one RSA key each, about 70 ms). A
second start finds it all and makes nothing, so certificates handed out stay valid.
`gsp-sandbox pki issue` makes the CA or a certificate on demand if that process has not
reached it yet. Every file is written to a temporary name and linked into place, so two
writers never leave half a file or two different keys: the first one linked wins and the
other reads it.

The agency's OrganId is the certificate subject's UID (contracts/edxml/signature.py) — the
sandbox's choice, unverified against the Government Cipher Committee's certificate profile.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.trust.signatures import SANDBOX_CA_FILE, SANDBOX_PKI_DIR

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

# cryptography is imported where keys are made or read, not with this module: `up` imports it
# only to see what is missing, and its start-up does not pay for the library.

PKI_DIR = SANDBOX_PKI_DIR
CA_FILE = SANDBOX_CA_FILE
CA_KEY_FILE = "ca-key.pem"
AGENCIES_DIR = "agencies"
# The password of the PKCS#12 files `pki issue` writes (docs/guides/signatures.md says it).
PKCS12_PASSWORD = "sandbox"
CA_NAME = "GSP sandbox root CA"
_SAFE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Credentials:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


def pki_dir(data_dir: Path) -> Path:
    return data_dir / PKI_DIR


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(certificate: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM)


def _place(path: Path, content: bytes, mode: int = 0o600) -> bool:
    """Write `content` at `path` unless a file is there already; True if this call wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        try:
            os.link(temp, path)  # fails if present: the first writer's file stands
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temp)


def _load(path: Path) -> Credentials:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = path.read_bytes()
    # Our own key, written by this module: its (slow) consistency checks are not needed.
    key = serialization.load_pem_private_key(
        data, password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return Credentials(key, x509.load_pem_x509_certificate(data))


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def make_ca(data_dir: Path) -> None:
    """The sandbox's root CA, made once and kept (a start that finds it reads nothing)."""
    root = pki_dir(data_dir)
    key_path, cert_path = root / CA_KEY_FILE, root / CA_FILE
    if not (key_path.is_file() and cert_path.is_file()):
        from contracts.edxml.signature import ca_certificate, new_key

        with _locked(root):
            if not (key_path.is_file() and cert_path.is_file()):
                key = new_key()
                certificate = ca_certificate(key, CA_NAME)
                # The key file holds the certificate too, so the pair is always one write.
                _place(key_path, _pem_key(key) + _pem_cert(certificate))
                _place(cert_path, _pem_cert(_load(key_path).certificate), 0o644)


def ensure_ca(data_dir: Path) -> Credentials:
    """The sandbox's root CA's key and certificate, made first if missing."""
    make_ca(data_dir)
    return _load(pki_dir(data_dir) / CA_KEY_FILE)


def agency_path(data_dir: Path, agency: str) -> Path:
    if not _SAFE_CODE.fullmatch(agency):
        raise ValueError(f"not an agency code: {agency!r}")
    return pki_dir(data_dir) / AGENCIES_DIR / f"{agency}.pem"


def ensure_agency(
    data_dir: Path, agency: str, name: str, ca: Credentials | None = None
) -> Credentials:
    """An agency's key and certificate, made on first need and kept."""
    path = agency_path(data_dir, agency)
    if not path.is_file():
        from contracts.edxml.signature import agency_certificate, new_key

        ca = ca or ensure_ca(data_dir)
        key = new_key()
        certificate = agency_certificate(key, agency, name, ca.key, ca.certificate)
        _place(path, _pem_key(key) + _pem_cert(certificate))
    return _load(path)


def ca_missing(data_dir: Path) -> bool:
    root = pki_dir(data_dir)
    return not ((root / CA_KEY_FILE).is_file() and (root / CA_FILE).is_file())


def missing_agencies(data_dir: Path, agencies: dict[str, str]) -> dict[str, str]:
    return {
        code: name for code, name in agencies.items() if not agency_path(data_dir, code).is_file()
    }


def fill(data_dir: Path, agencies: dict[str, str]) -> int:
    """Make every missing agency certificate; how many were made."""
    ca = ensure_ca(data_dir)
    made = 0
    for code, name in missing_agencies(data_dir, agencies).items():
        ensure_agency(data_dir, code, name, ca)
        made += 1
    return made


@dataclass(frozen=True)
class Issued:
    key: Path
    certificate: Path
    pkcs12: Path
    ca: Path


def issue(data_dir: Path, agency: str, name: str, out: Path) -> Issued:
    """Write an agency's key and certificate (PEM, PKCS#12) and the CA certificate to `out`."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    ca = ensure_ca(data_dir)
    mine = ensure_agency(data_dir, agency, name, ca)
    out.mkdir(parents=True, exist_ok=True)
    issued = Issued(
        key=out / f"{agency}.key.pem",
        certificate=out / f"{agency}.cert.pem",
        pkcs12=out / f"{agency}.p12",
        ca=out / "ca.pem",
    )
    issued.key.write_bytes(_pem_key(mine.key))
    os.chmod(issued.key, 0o600)
    issued.certificate.write_bytes(_pem_cert(mine.certificate))
    issued.pkcs12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            agency.encode(),
            mine.key,
            mine.certificate,
            [ca.certificate],
            # 3DES and SHA-1 MAC: what every Java 8 and .NET Framework keystore reads (the
            # AES form of newer libraries is refused by JDKs before 8u301).
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(PKCS12_PASSWORD.encode()),
        )
    )
    os.chmod(issued.pkcs12, 0o600)
    issued.ca.write_bytes(_pem_cert(ca.certificate))
    return issued


@dataclass(frozen=True)
class Exported:
    pem: Path
    der: Path
    truststore: Path


# The alias the CA has in the Java truststore (keytool -list shows it).
TRUSTSTORE_ALIAS = "gsp-sandbox-ca"


def export_ca(data_dir: Path, out: Path) -> Exported:
    """The sandbox CA for each ecosystem: PEM (Python, Node, curl, .NET), DER (Windows'
    certificate import) and a PKCS#12 truststore for Java, password PKCS12_PASSWORD."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    ca = ensure_ca(data_dir).certificate
    out.mkdir(parents=True, exist_ok=True)
    exported = Exported(
        pem=out / "gsp-sandbox-ca.pem",
        der=out / "gsp-sandbox-ca.cer",
        truststore=out / "gsp-sandbox-truststore.p12",
    )
    exported.pem.write_bytes(_pem_cert(ca))
    exported.der.write_bytes(ca.public_bytes(serialization.Encoding.DER))
    exported.truststore.write_bytes(
        # A trusted-certificate entry (the bag attribute Java's KeyStore reads as "trusted"),
        # protected as `issue`'s files are, so every Java 8 reads it too.
        pkcs12.serialize_java_truststore(
            [pkcs12.PKCS12Certificate(ca, TRUSTSTORE_ALIAS.encode())],
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(PKCS12_PASSWORD.encode()),
        )
    )
    return exported


def main(argv: list[str] | None = None) -> int:
    """`python -m sandbox.pki.authority DATA_DIR`, {code: name} as JSON on stdin: fill them in."""
    parser = argparse.ArgumentParser(prog="sandbox.pki.authority")
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args(argv)
    agencies = json.load(sys.stdin)
    with contextlib.suppress(AttributeError, OSError):
        os.nice(19)  # after the nodes: start-up comes first on a small machine
    fill(args.data_dir, agencies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
