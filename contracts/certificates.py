"""Certificates the sandbox CA issues: one builder for an agency's signing certificate
(contracts/edxml/signature.py) and a platform's TLS server certificate (sandbox/pki/tls.py).

Only cryptography here: a platform making its TLS certificate at start-up does not load the
XML-DSig stack (signxml) with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def leaf_certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    ca_key: rsa.RSAPrivateKey,
    ca_certificate: x509.Certificate,
    *,
    days: int,
    non_repudiation: bool,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    """An end-entity certificate the sandbox CA issues: a signing key (with non-repudiation for
    an agency's documents), identified to its CA by key identifiers; `extensions` are added
    as non-critical (a TLS server's usage and names)."""
    now = datetime.now(UTC)
    ca_ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=non_repudiation,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value),
            critical=False,
        )
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(ca_key, hashes.SHA256())
