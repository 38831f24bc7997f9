"""XML-DSig signatures on edXML packages: sign one, and check one against a trust anchor.

Where real packages carry it (the public sample packages, DOMAIN.md "Signature"): one
`<Signature>` as the last child of `edXMLHeader`, `Reference URI=""` (the whole document),
transforms enveloped-signature then exclusive c14n, and `KeyInfo/X509Data` with
`X509SubjectName` and `X509Certificate`. The public samples write the element without a
namespace declaration (so it falls in the edXML namespace) and with placeholder values (a
fixed DigestValue, a truncated certificate): they cannot be verified by anyone. What is
written here is the same shape in the XML-DSig namespace, declared as the default namespace
on the element (no prefix), which every XML-DSig library reads:
`SignatureMethod` rsa-sha256 and `DigestMethod` sha256 (the samples show rsa-sha1/sha1;
both are accepted when verifying). The samples declare `CanonicalizationMethod` c14n 1.0 and
the transform as `http://www.w3.org/TR/xml-exc-c14n#` (not a W3C algorithm URI); written
here: exclusive c14n (`http://www.w3.org/2001/10/xml-exc-c14n#`) for both, because inclusive
c14n of a SignedInfo nested in edXMLHeader depends on the edXML namespace in scope, which
signxml's signer does not see (a signature made that way would not verify). Reading accepts
any c14n method signxml knows.

Which certificate field names the agency is the sandbox's choice (unverified against the
Government Cipher Committee's certificate profile): the subject's `UID` attribute holds the
agency's edXML OrganId (e.g. `UID=000.00.01.H04`).

Verification insists on what was signed being the whole document: exactly one XML-DSig
Signature in the document, in edXMLHeader, with exactly one Reference whose URI is "". An
attacker's second Signature, a Reference to a fragment, a Signature elsewhere: refused.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import exceptions as signxml_errors
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from contracts.certificates import leaf_certificate
from contracts.edxml.xml import DSIG, parse, signatures_in

_DS = f"{{{DSIG}}}"
# The subject attribute that names the agency (sandbox's choice, see the module docstring).
AGENCY_ATTRIBUTE = NameOID.USER_ID
ACCEPTED_METHODS = frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.RSA_SHA256})
ACCEPTED_DIGESTS = frozenset({DigestAlgorithm.SHA1, DigestAlgorithm.SHA256})
# A signing certificate is a few kB; a chain of a few. More is only an attack's size.
MAX_CERTIFICATES = 4
MAX_CERTIFICATE_CHARS = 16 * 1024
MAX_SIGNATURE_VALUE_CHARS = 4 * 1024
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class SignatureRefused(ValueError):
    """A signature that cannot be accepted; `reason` is a slug, the message says what to do."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # broken-signature, unknown-signer, signature-not-allowed, ...
        self.detail = detail


@dataclass(frozen=True)
class Signer:
    """Who signed a package, from its verified certificate."""

    agency: str | None  # the subject's UID: the agency's OrganId
    subject: str  # RFC 4514
    issuer: str
    serial: str  # hex
    algorithm: str  # the SignatureMethod URI
    digest: str  # the DigestMethod URI


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def agency_of(certificate: x509.Certificate) -> str | None:
    values = certificate.subject.get_attributes_for_oid(AGENCY_ATTRIBUTE)
    return str(values[0].value) if values else None


def _header(root: etree._Element) -> etree._Element:
    envelope = next((c for c in root if _local(c) == "edXMLEnvelope"), None)
    header = (
        next((c for c in envelope if _local(c) == "edXMLHeader"), None)
        if envelope is not None
        else None
    )
    if _local(root) != "edXML" or header is None:
        raise SignatureRefused(
            "signature-misplaced",
            "A signed package is a whole edXML document: root edXML, edXMLEnvelope, "
            "edXMLHeader holding the Signature.",
        )
    return header


# -- signing -------------------------------------------------------------------------------


class _Signer(XMLSigner):
    def check_deprecated_methods(self) -> None:
        """rsa-sha1 is what older real signers write; the sandbox signs with it only when asked
        (to produce what they send), never by default."""


def sign_package(
    body: bytes, key: rsa.RSAPrivateKey, certificate: x509.Certificate, *, sha1: bool = False
) -> bytes:
    """The package with an enveloped Signature as the last child of edXMLHeader.

    rsa-sha256/sha256; `sha1=True` writes rsa-sha1/sha1 as older signers do (for tests of
    what real packages carry). The input must not be signed already.
    """
    root = parse(body)
    if signatures_in(root):
        raise SignatureRefused("already-signed", "The package already carries a Signature.")
    header = _header(root)
    etree.SubElement(header, f"{_DS}Signature", nsmap={None: DSIG}, Id="placeholder")  # type: ignore[dict-item]
    signer = _Signer(
        signature_algorithm=SignatureMethod.RSA_SHA1 if sha1 else SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA1 if sha1 else DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signer.namespaces = {None: DSIG}  # type: ignore[dict-item]
    key_info = etree.Element(f"{_DS}KeyInfo", nsmap={None: DSIG})  # type: ignore[dict-item]
    data = etree.SubElement(key_info, f"{_DS}X509Data")
    etree.SubElement(data, f"{_DS}X509SubjectName").text = certificate.subject.rfc4514_string()
    etree.SubElement(data, f"{_DS}X509Certificate").text = base64.b64encode(
        certificate.public_bytes(serialization.Encoding.DER)
    ).decode()
    signed = signer.sign(
        root,
        key=key,
        key_info=key_info,
    )
    written: bytes = etree.tostring(signed, encoding="UTF-8")
    return _DECLARATION + written


# -- verifying -----------------------------------------------------------------------------


def _check_shape(root: etree._Element) -> etree._Element:
    """The one Signature, where it belongs, signing the whole document; else refused."""
    found = signatures_in(root)
    if len(found) > 1:
        raise SignatureRefused(
            "multiple-signatures",
            f"The package carries {len(found)} XML-DSig Signature elements; a package is "
            "signed once, by its sender, with one Signature in edXMLHeader.",
        )
    signature = found[0]
    if signature.getparent() is not _header(root):
        raise SignatureRefused(
            "signature-misplaced",
            "The Signature is not a child of edXMLHeader; sign the whole package with the "
            "Signature enveloped in edXMLHeader.",
        )
    signed_info = [c for c in signature if c.tag == f"{_DS}SignedInfo"]
    references = [r for s in signed_info for r in s if r.tag == f"{_DS}Reference"]
    if len(signed_info) != 1 or len(references) != 1 or references[0].get("URI") != "":
        raise SignatureRefused(
            "partial-signature",
            'The signature must have one SignedInfo with one Reference URI="" (the whole '
            "document, enveloped-signature transform); this one signs something else.",
        )
    values = list(signature.iter(f"{_DS}SignatureValue"))
    certificates = list(signature.iter(f"{_DS}X509Certificate"))
    if not certificates:
        raise SignatureRefused(
            "unknown-signer",
            "The Signature carries no KeyInfo/X509Data/X509Certificate: include the signing "
            "certificate so the receiver can tell who signed.",
        )
    if (
        len(certificates) > MAX_CERTIFICATES
        or any(len(c.text or "") > MAX_CERTIFICATE_CHARS for c in certificates)
        or any(len(v.text or "") > MAX_SIGNATURE_VALUE_CHARS for v in values)
    ):
        raise SignatureRefused(
            "signature-too-large",
            f"The Signature holds more than {MAX_CERTIFICATES} certificates or one over "
            f"{MAX_CERTIFICATE_CHARS} characters: send the signing certificate (and its chain).",
        )
    return signature


def _algorithm(signature: etree._Element, name: str) -> str:
    element = next(signature.iter(f"{_DS}{name}"), None)
    return "" if element is None else str(element.get("Algorithm") or "")


class _ChainRecorder:
    """signxml's chain verifier, remembering the certificate whose chain it verified: the one
    whose key then checks the signature (signxml verifies with exactly that certificate)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified: x509.Certificate | None = None

    def verify(self, cert_chain: list[x509.Certificate]) -> x509.Certificate:
        certificate: x509.Certificate = self.inner.verify(cert_chain)
        self.verified = certificate
        return certificate


class _Verifier(XMLVerifier):
    """XMLVerifier that tells which certificate verified the signature.

    The signer is that certificate, and no other: every other certificate in KeyInfo is only a
    chain candidate. Naming "the first certificate holding the key" instead lets a forger put
    a certificate with another agency's UID and the real signer's public key (signed by any
    key, never checked) before the real one, and be named as that agency.
    """

    recorder: _ChainRecorder | None = None

    def get_cert_chain_verifier(self, ca_pem_file: Any, ee_policy: Any, ca_policy: Any) -> Any:
        self.recorder = _ChainRecorder(
            super().get_cert_chain_verifier(ca_pem_file, ee_policy, ca_policy)  # type: ignore[no-untyped-call]
        )
        return self.recorder


def _signing_certificate(verifier: _Verifier, public_key_pem: bytes) -> x509.Certificate:
    certificate = verifier.recorder.verified if verifier.recorder is not None else None
    if certificate is None:
        raise SignatureRefused("unknown-signer", "No certificate in the Signature was verified.")
    try:
        key = certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, UnsupportedAlgorithm):
        key = b""
    if key != public_key_pem:  # signxml checks with this certificate's key; never otherwise
        raise SignatureRefused(
            "unknown-signer", "The signature was not checked with the verified certificate."
        )
    return certificate


def verify_package(body: bytes, ca_file: Path, *, at: datetime | None = None) -> Signer:
    """Check the package's one signature against the CA certificates in `ca_file`.

    SignatureRefused for every way it can fail (never another exception for a hostile
    signature: the library's own errors, and any unexpected one, are turned into refusals).
    """
    root = parse(body)
    signature = _check_shape(root)
    method, digest = _algorithm(signature, "SignatureMethod"), _algorithm(signature, "DigestMethod")
    config = SignatureConfiguration(
        require_x509=True,
        location=".//",
        expect_references=1,
        signature_methods=ACCEPTED_METHODS,
        digest_algorithms=ACCEPTED_DIGESTS,
        verification_time=at,
    )
    verifier = _Verifier()
    try:
        found = verifier.verify(body, ca_pem_file=str(ca_file), expect_config=config)
    except signxml_errors.InvalidCertificate as exc:
        raise SignatureRefused(
            "unknown-signer",
            f"The signing certificate is not one this platform trusts ({_short(exc)}): sign "
            "with the certificate the sandbox issued to your agency (`gsp-sandbox pki issue`).",
        ) from None
    except signxml_errors.InvalidDigest:
        raise SignatureRefused(
            "broken-signature",
            "The package was changed after it was signed (the digest of the document does not "
            "match the signed one): sign the package as it is sent, and send it unchanged.",
        ) from None
    except (signxml_errors.InvalidSignature, signxml_errors.InvalidInput, ValueError) as exc:
        if method and _known(method, digest) is False:
            raise SignatureRefused(
                "signature-algorithm-not-accepted",
                f"SignatureMethod {method} / DigestMethod {digest} is not accepted: use "
                "rsa-sha256 with sha256 (rsa-sha1 with sha1 is still read).",
            ) from None
        raise SignatureRefused(
            "broken-signature",
            f"The signature does not verify ({_short(exc)}): the package or its SignedInfo was "
            "changed after signing, or the signature was not made with this certificate's key.",
        ) from None
    except Exception as exc:  # a hostile signature must end in a refusal, whatever breaks
        raise SignatureRefused(
            "broken-signature", f"The signature cannot be read: {_short(exc)}"
        ) from None
    result = found if isinstance(found, VerifyResult) else None  # one reference: one result
    if result is None or result.signed_xml is None or _local(result.signed_xml) != "edXML":
        raise SignatureRefused(
            "partial-signature", "The signature does not cover the whole edXML document."
        )
    try:
        certificate = _signing_certificate(verifier, result.signature_key)
        return Signer(
            agency=agency_of(certificate),
            subject=certificate.subject.rfc4514_string(),
            issuer=certificate.issuer.rfc4514_string(),
            serial=f"{certificate.serial_number:x}",
            algorithm=method,
            digest=digest,
        )
    except SignatureRefused:
        raise
    except Exception as exc:  # an odd certificate that verified but cannot be described
        raise SignatureRefused(
            "unknown-signer", f"The signing certificate cannot be read: {_short(exc)}"
        ) from None


def _known(method: str, digest: str) -> bool:
    accepted = {m.value for m in ACCEPTED_METHODS}, {d.value for d in ACCEPTED_DIGESTS}
    return method in accepted[0] and digest in accepted[1]


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# -- keys and certificates (shared by the sandbox PKI and tests) ----------------------------


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def agency_certificate(
    key: rsa.RSAPrivateKey,
    agency: str,
    name: str,
    ca_key: rsa.RSAPrivateKey,
    ca_certificate: x509.Certificate,
    *,
    days: int = 3650,
) -> x509.Certificate:
    """A signing certificate for one agency: UID = its OrganId, CN = its name."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GSP sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, _at_most_64_bytes(name) or agency),
            x509.NameAttribute(AGENCY_ATTRIBUTE, agency),
        ]
    )
    return leaf_certificate(key, subject, ca_key, ca_certificate, days=days, non_repudiation=True)


def _at_most_64_bytes(text: str) -> str:
    """X.520 caps a CommonName at 64; agencies' Vietnamese names can be longer in UTF-8."""
    return text.encode()[:64].decode(errors="ignore")


def ca_certificate(key: rsa.RSAPrivateKey, name: str, *, days: int = 3650) -> x509.Certificate:
    """A self-signed root CA certificate."""
    now = datetime.now(UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GSP sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
