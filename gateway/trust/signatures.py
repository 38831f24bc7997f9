"""A platform's policy on official documents' signatures, applied on receipt.

The platform's topology entry says `off`, `verify-if-present` or `required`
(contracts/topology.py Platform.document_signatures); the trust anchors are the sandbox CA's
certificate (settings.document_trust_anchors, by default {data_dir}/pki/ca.pem). A signed
package is verified whole (contracts/edxml/signature.py), and its signer must be the agency
that sends it: the certificate subject's UID equals the package's From/OrganId. Every refusal
is a 422 problem that says what was wrong and what to do about it.

What counts as signed is an XML-DSig Signature (namespace http://www.w3.org/2000/09/xmldsig#).
A `Signature` element in the edXML namespace, as the vendor library's sample packages write
with placeholder values, is no signature anyone can verify: such a package is unsigned here.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from apikit.problems import ProblemError
from contracts.edxml import SignedBy
from contracts.edxml.xml import has_signature
from contracts.problem import FieldError

Mode = Literal["off", "verify-if-present", "required"]
# The sandbox PKI's root CA certificate, under the data dir: written by `gsp-sandbox up`
# (sandbox/pki/authority.py), every platform's trust anchor unless settings name another file.
SANDBOX_PKI_DIR = "pki"
SANDBOX_CA_FILE = "ca.pem"
_TITLES = {
    "broken-signature": "The package's signature does not verify",
    "unknown-signer": "The package is signed by a certificate this platform does not trust",
    "signer-not-sender": "The package is signed by another agency than its sender",
    "signature-required": "This platform accepts signed packages only",
    "multiple-signatures": "The package carries more than one signature",
    "signature-misplaced": "The signature is not where edXML carries it",
    "partial-signature": "The signature does not cover the whole package",
    "signature-too-large": "The signature is over a limit",
    "signature-algorithm-not-accepted": "The signature's algorithm is not accepted",
}


class SignaturePolicy:
    def __init__(self, mode: Mode, trust_anchors: Path, platform: str) -> None:
        self.mode = mode
        self.trust_anchors = trust_anchors
        self.platform = platform

    async def check(self, xml: bytes | None, sender: str) -> tuple[bytes | None, SignedBy | None]:
        """(the bytes to keep and deliver as they are, who signed them) or a 422.

        The bytes are kept whenever the package carries an XML-DSig signature, whatever the
        mode, so a receiver can always check it itself; `SignedBy` only when it was verified.
        """
        signed = xml is not None and has_signature(xml)
        if not signed:
            if self.mode == "required":
                raise _refused(
                    "signature-required",
                    f"{self.platform} accepts only packages signed by their sending agency: send "
                    "the package as edXML (Content-Type: application/xml) with an enveloped "
                    "XML-DSig Signature in edXMLHeader, made with the key `gsp-sandbox pki "
                    f"issue {sender}` hands out.",
                )
            return None, None
        assert xml is not None
        if self.mode == "off":
            return xml, None
        if not self.trust_anchors.is_file():
            raise _refused(
                "unknown-signer",
                f"{self.platform} has no trust anchor ({self.trust_anchors} is missing), so no "
                "signer is known here: start the sandbox with `gsp-sandbox up`, which makes its "
                "CA, or send the package unsigned.",
            )
        # Loaded on the first signed package, not with the platform (its start-up stays lean).
        from contracts.edxml.signature import SignatureRefused, verify_package

        try:
            # c14n and digests over a package of megabytes: off the event loop.
            signer = await asyncio.to_thread(verify_package, xml, self.trust_anchors)
        except SignatureRefused as exc:
            raise _refused(exc.reason, exc.detail) from None
        if signer.agency != sender:
            raise _refused(
                "signer-not-sender",
                f"The package is sent by {sender} but signed with the certificate of "
                f"{signer.agency or 'no agency'} ({signer.subject}): an agency signs its own "
                "packages, with the certificate issued to it.",
            )
        return xml, SignedBy(
            agency=signer.agency,
            subject=signer.subject,
            issuer=signer.issuer,
            serial=signer.serial,
            algorithm=signer.algorithm,
            verifiedAt=self.platform,
            verified=datetime.now(UTC),
        )


def _refused(reason: str, detail: str) -> ProblemError:
    return ProblemError(
        422,
        reason,
        _TITLES.get(reason, "The package's signature is refused"),
        detail,
        errors=[FieldError(field="$.edXMLEnvelope.edXMLHeader.Signature", reason=reason)],
    )
