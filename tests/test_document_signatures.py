"""Signed edXML packages: the sandbox PKI, verification on receipt, byte-identical delivery.

The topology is the default one plus a second province (tests/document_topology.py); the
Bắc Ninh LGSP requires signatures, the others verify them when present (the default). Keys
and certificates come from the sandbox PKI in the run's data dir, as `gsp-sandbox up` makes
it; packages are signed here with signxml, as an agency's system would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml.verifier import SignatureConfiguration, XMLVerifier

from apikit.problems import ProblemError
from contracts.edxml import DocumentPackage, DocumentView
from contracts.edxml.signature import (
    DSIG,
    SignatureRefused,
    agency_certificate,
    ca_certificate,
    new_key,
    sign_package,
    verify_package,
)
from contracts.edxml.xml import XmlRefused, package_from_xml, package_to_xml
from gateway.trust.signatures import Mode, SignaturePolicy
from sandbox.cli import main as cli
from sandbox.pki import authority as pki
from sandbox.runtime.launcher import Launcher
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology
from tests.document_topology import (
    BG_NOIVU,
    BG_OFFICE,
    BG_STTTT,
    BN_OFFICE,
    OTHER_EOFFICE,
    OTHER_LGSP,
    delivery_settings,
    document_topology,
)
from tests.helpers import assert_problem, bearer, free_ports

pytestmark = pytest.mark.sockets

LGSP = "lgsp-bac-giang"
SENDER = "qlvb-bac-giang"  # agency BG_OFFICE
PULL_RECEIVER = "noivu-bac-giang"  # agency BG_NOIVU
BN_CONSUMER = "qlvb-bac-ninh"  # agency BN_OFFICE, at the Bắc Ninh LGSP
FIXTURES = Path(__file__).parent / "data" / "edxml"
XML = {"Content-Type": "application/xml"}
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_numbers = iter(range(7000, 8000))


def package(*receivers: str, number: str | None = None) -> bytes:
    """The fixture package as a new document (its own number) for these receivers, unsigned."""
    base = package_from_xml((FIXTURES / "new-with-attachments.edxml").read_bytes())
    data = base.model_dump(by_alias=True)
    template = data["to"][0]
    data["to"] = [{**template, "organId": r} for r in receivers]
    data["code"]["codeNumber"] = number or str(next(_numbers))
    data["documentId"] = ""
    return package_to_xml(DocumentPackage.model_validate(data))


@pytest.fixture(scope="module")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningTopology]:
    data = tmp_path_factory.mktemp("signatures")
    topology = document_topology()
    platforms = dict(topology.platforms)
    platforms[OTHER_LGSP] = platforms[OTHER_LGSP].model_copy(
        update={"document_signatures": "required"}
    )
    topology = topology.model_copy(update={"platforms": platforms})
    pki.ensure_ca(data)  # as `gsp-sandbox up` does before the nodes start
    async with run_topology(topology, data, settings=delivery_settings(data)) as running:
        yield running


def credentials(run: RunningTopology, agency: str) -> pki.Credentials:
    return pki.ensure_agency(run.settings.data_dir, agency, run.topology.agency_name(agency))


def ca_file(run: RunningTopology) -> Path:
    return pki.pki_dir(run.settings.data_dir) / pki.CA_FILE


def signed(run: RunningTopology, body: bytes, agency: str = BG_OFFICE, sha1: bool = False) -> bytes:
    mine = credentials(run, agency)
    return sign_package(body, mine.key, mine.certificate, sha1=sha1)


async def send(
    client: httpx.AsyncClient,
    run: RunningTopology,
    body: bytes,
    *,
    platform: str = LGSP,
    consumer: str = SENDER,
) -> httpx.Response:
    headers = {**await bearer(client, run.url(platform), run.topology, consumer), **XML}
    return await client.post(f"{run.url(platform)}/documents", content=body, headers=headers)


async def view(
    client: httpx.AsyncClient, run: RunningTopology, doc_id: str, platform: str, consumer: str
) -> DocumentView:
    headers = await bearer(client, run.url(platform), run.topology, consumer)
    response = await client.get(f"{run.url(platform)}/documents/{doc_id}", headers=headers)
    assert response.status_code == 200, response.text
    return DocumentView.model_validate(response.json())


async def until(
    client: httpx.AsyncClient, run: RunningTopology, doc_id: str, test: Any
) -> DocumentView:
    deadline = time.monotonic() + 20
    while True:
        current = await view(client, run, doc_id, LGSP, SENDER)
        if test(current):
            return current
        assert time.monotonic() < deadline, current.model_dump_json(indent=1)
        await asyncio.sleep(0.05)


def states(view: DocumentView) -> dict[str, str]:
    return {r.organId: r.state.value for r in view.receivers}


def verifies_with_signxml(body: bytes, ca: Path) -> None:
    """A standard library's check, not ours: the receiver's own verification."""
    result = XMLVerifier().verify(
        body, ca_pem_file=str(ca), expect_config=SignatureConfiguration(location=".//")
    )
    assert not isinstance(result, list)
    assert etree.QName(result.signed_xml).localname == "edXML"


# -- end to end --------------------------------------------------------------------------


async def test_a_signed_package_reaches_another_province_byte_identical_and_verifies_there(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    body = signed(run, package(BN_OFFICE, BG_NOIVU))
    response = await send(client, run, body)
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    done = await until(
        client, run, doc_id, lambda v: set(states(v).values()) == {"delivered", "awaiting-pickup"}
    )
    assert done.signedBy is not None
    assert (done.signedBy.agency, done.signedBy.verifiedAt) == (BG_OFFICE, LGSP)
    assert done.signedBy.algorithm == RSA_SHA256
    assert "UID=000.00.01.H04" in done.signedBy.subject

    # Bắc Ninh's e-office got it through NGSP and the Bắc Ninh LGSP: the very bytes signed
    pushed = await client.get(
        f"{run.url(OTHER_EOFFICE)}/nhanVanBan/{doc_id}", headers={"Accept": "application/xml"}
    )
    assert pushed.status_code == 200
    assert pushed.content == body
    verifies_with_signxml(pushed.content, ca_file(run))

    # the Bắc Ninh LGSP verified it too, and says so to its receiver
    there = await view(client, run, doc_id, OTHER_LGSP, BN_CONSUMER)
    assert there.signedBy is not None
    assert (there.signedBy.agency, there.signedBy.verifiedAt) == (BG_OFFICE, OTHER_LGSP)
    headers = await bearer(client, run.url(OTHER_LGSP), run.topology, BN_CONSUMER)
    as_xml = await client.get(
        f"{run.url(OTHER_LGSP)}/documents/{doc_id}/package",
        headers={**headers, "Accept": "application/xml"},
    )
    assert as_xml.content == body
    # the JSON view is the same package, with every platform's own TraceHeader appended
    as_json = DocumentPackage.model_validate(
        (await client.get(f"{run.url(OTHER_LGSP)}/documents/{doc_id}/package", headers=headers))
        .raise_for_status()
        .json()
    )
    assert [t.organId for t in as_json.traceHeaderList][-3:] == [
        "000.00.12.H04",  # LGSP Bắc Giang
        run.topology.platforms["ngsp"].agency,
        "000.00.12.H06",  # LGSP Bắc Ninh
    ]

    # the pull receiver in Bắc Giang: its inbox entry names the signer, the XML is the same
    noivu = await bearer(client, run.url(LGSP), run.topology, PULL_RECEIVER)
    inbox = (await client.get(f"{run.url(LGSP)}/documents/inbox", headers=noivu)).json()
    entry = next(d for d in inbox["documents"] if d["id"] == doc_id)
    assert entry["signedBy"]["agency"] == BG_OFFICE
    mine = await client.get(
        f"{run.url(LGSP)}/documents/{doc_id}/package",
        headers={**noivu, "Accept": "application/xml"},
    )
    assert mine.content == body


async def test_an_rsa_sha1_signature_as_real_packages_carry_is_accepted(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    body = signed(run, package(BG_STTTT), sha1=True)
    assert f'Algorithm="{RSA_SHA1}"'.encode() in body
    response = await send(client, run, body)
    assert response.status_code == 202, response.text
    done = await view(client, run, response.json()["id"], LGSP, SENDER)
    assert done.signedBy is not None and done.signedBy.algorithm == RSA_SHA1


async def test_an_unsigned_package_passes_where_signatures_are_verified_if_present(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    response = await send(client, run, package(BG_STTTT))
    assert response.status_code == 202, response.text
    assert (await view(client, run, response.json()["id"], LGSP, SENDER)).signedBy is None


def _other_ca_credentials(agency: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    ca_key = new_key()
    ca = ca_certificate(ca_key, "Somebody else's CA")
    key = new_key()
    return key, agency_certificate(key, agency, "Impostor", ca_key, ca)


def _tampered(body: bytes) -> bytes:
    return body.replace(b"<edXML:Subject>", b"<edXML:Subject>[changed] ", 1)


def _two_signatures(run: RunningTopology, body: bytes) -> bytes:
    root = etree.fromstring(body)
    signature = next(root.iter(f"{{{DSIG}}}Signature"))
    signature.getparent().append(etree.fromstring(etree.tostring(signature)))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _wrapped(run: RunningTopology, body: bytes) -> bytes:
    """The classic wrapping: the signed original hidden away, a forged header in its place."""
    root = etree.fromstring(body)
    header = next(e for e in root.iter() if etree.QName(e).localname == "edXMLHeader")
    signature = next(header.iter(f"{{{DSIG}}}Signature"))
    # the signature moves into an Object holding the original document; the package is changed
    obj = etree.SubElement(signature, f"{{{DSIG}}}Object")
    obj.append(etree.fromstring(body))
    subject = next(e for e in root.iter() if etree.QName(e).localname == "Subject")
    subject.text = "Forged subject"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _header_in_key_info(body: bytes) -> bytes:
    """The signed package, with another sender's MessageHeader hidden in the unsigned KeyInfo,
    where a reader that takes the first MessageHeader by name could find it."""
    root = etree.fromstring(body)
    header = next(e for e in root.iter() if etree.QName(e).localname == "MessageHeader")
    forged = etree.fromstring(etree.tostring(header))
    organ = next(e for e in forged.iter() if etree.QName(e).localname == "OrganId")
    organ.text = BG_NOIVU
    next(root.iter(f"{{{DSIG}}}KeyInfo")).append(forged)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _foreign_signature(body: bytes, namespace: str) -> bytes:
    """The package unsigned, with a Signature element in no namespace or another one: not
    absent (so not "unsigned"), and not XML-DSig."""
    element = f'<Signature xmlns="{namespace}"><SignatureValue>AAAA</SignatureValue></Signature>'
    unsigned = _strip_signature(body)
    assert unsigned.count(b"</edXML:edXMLHeader>") == 1
    return unsigned.replace(b"</edXML:edXMLHeader>", element.encode() + b"</edXML:edXMLHeader>")


def _strip_signature(body: bytes) -> bytes:
    root = etree.fromstring(body)
    for signature in list(root.iter(f"{{{DSIG}}}Signature")):
        signature.getparent().remove(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _fragment(run: RunningTopology) -> bytes:
    """A valid signature over the MessageHeader only: the rest could be anything."""
    from signxml.algorithms import CanonicalizationMethod, SignatureMethod
    from signxml.signer import XMLSigner

    root = etree.fromstring(package(BG_STTTT))
    header = next(e for e in root.iter() if etree.QName(e).localname == "MessageHeader")
    header.set("Id", "signed-part")
    envelope_header = header.getparent()
    placeholder = etree.SubElement(envelope_header, f"{{{DSIG}}}Signature", Id="placeholder")
    assert placeholder is not None
    mine = credentials(run, BG_OFFICE)
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    out = signer.sign(root, key=mine.key, cert=[mine.certificate], reference_uri=["#signed-part"])
    return etree.tostring(out, xml_declaration=True, encoding="UTF-8")


def _misplaced(run: RunningTopology, body: bytes) -> bytes:
    root = etree.fromstring(body)
    signature = next(root.iter(f"{{{DSIG}}}Signature"))
    root.append(signature)  # moved to the root: no longer in edXMLHeader
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _replace_text(body: bytes, local: str, text: str) -> bytes:
    root = etree.fromstring(body)
    element = next(root.iter(f"{{{DSIG}}}{local}"))
    element.text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _algorithm(body: bytes, uri: str) -> bytes:
    return body.replace(RSA_SHA256.encode(), uri.encode(), 1)


def _forged_certificate_first(run: RunningTopology, claimed: str, signer: str) -> bytes:
    """Issue 20's forgery: signed with `signer`'s key and certificate, and before that
    certificate another one naming `claimed` (UID) with `signer`'s public key, issued under
    the sandbox CA's name by a key of the forger's own."""
    real = credentials(run, signer)
    forger_key = new_key()
    fake_ca = ca_certificate(forger_key, "GSP sandbox root CA")
    fake = agency_certificate(real.key, claimed, "Forged", forger_key, fake_ca)
    body = sign_package(package(BG_STTTT), real.key, real.certificate)
    root = etree.fromstring(body)
    genuine = next(root.iter(f"{{{DSIG}}}X509Certificate"))
    forged = etree.Element(f"{{{DSIG}}}X509Certificate")
    forged.text = base64.b64encode(fake.public_bytes(serialization.Encoding.DER)).decode()
    genuine.addprevious(forged)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_the_signer_is_the_certificate_that_verified_not_the_first_holding_its_key(
    run: RunningTopology,
) -> None:
    body = _forged_certificate_first(run, BG_OFFICE, BG_STTTT)
    signer = verify_package(body, ca_file(run))
    assert signer.agency == BG_STTTT
    assert signer.serial == f"{credentials(run, BG_STTTT).certificate.serial_number:x}"
    # a standard library agrees on the key that signed
    result = XMLVerifier().verify(
        body, ca_pem_file=str(ca_file(run)), expect_config=SignatureConfiguration(location=".//")
    )
    assert not isinstance(result, list)
    assert result.signature_key == credentials(run, BG_STTTT).certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _hostile_cases(run: RunningTopology) -> dict[str, tuple[bytes, str]]:
    """name: (package, the problem's slug)"""
    good = signed(run, package(BG_STTTT))
    key, foreign = _other_ca_credentials(BG_OFFICE)
    huge = base64.b64encode(b"\x30" * 200_000).decode()
    return {
        "altered after signing": (_tampered(good), "broken-signature"),
        "signer unknown to the CA": (
            sign_package(package(BG_STTTT), key, foreign),
            "unknown-signer",
        ),
        "signer is not the sender": (
            signed(run, package(BG_NOIVU), agency=BG_STTTT),
            "signer-not-sender",
        ),
        "a certificate naming the sender with the signer's key, before the signer's": (
            _forged_certificate_first(run, BG_OFFICE, BG_STTTT),
            "signer-not-sender",
        ),
        "two signatures": (_two_signatures(run, good), "multiple-signatures"),
        # the original's MessageHeader in ds:Object: refused before its signature is read
        "signature wrapping": (_wrapped(run, good), "invalid-xml"),
        "a forged MessageHeader in KeyInfo": (_header_in_key_info(good), "invalid-xml"),
        "a Signature in no namespace": (_foreign_signature(good, ""), "invalid-xml"),
        "a Signature in a foreign namespace": (
            _foreign_signature(good, "urn:example:not-xmldsig"),
            "invalid-xml",
        ),
        "a signature over a fragment": (_fragment(run), "partial-signature"),
        "signature outside edXMLHeader": (_misplaced(run, good), "signature-misplaced"),
        "garbage base64 signature value": (
            _replace_text(good, "SignatureValue", "@@not base64@@"),
            "broken-signature",
        ),
        "garbage certificate": (
            _replace_text(good, "X509Certificate", "bm90IGEgY2VydGlmaWNhdGU="),
            "broken-signature",
        ),
        "huge certificate": (
            _replace_text(good, "X509Certificate", huge),
            "signature-too-large",
        ),
        "hmac instead of rsa": (
            _algorithm(good, "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
            "signature-algorithm-not-accepted",
        ),
        "md5": (
            _algorithm(good, "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"),
            "signature-algorithm-not-accepted",
        ),
    }


async def test_hostile_signatures_get_a_4xx_that_says_what_to_do_never_a_500(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    for name, (body, slug) in _hostile_cases(run).items():
        response = await send(client, run, body)
        assert response.status_code < 500, f"{name}: {response.text}"
        problem = assert_problem(response, 400 if slug == "invalid-xml" else 422, slug)
        assert len(problem["detail"]) > 40, f"{name}: {problem}"


async def test_a_platform_that_requires_signatures_refuses_an_unsigned_package(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    # sent at the Bắc Ninh LGSP itself: refused at once, saying how to sign
    here = package(BG_NOIVU).replace(BG_OFFICE.encode(), BN_OFFICE.encode())
    response = await send(client, run, here, platform=OTHER_LGSP, consumer=BN_CONSUMER)
    problem = assert_problem(response, 422, "signature-required")
    assert f"pki issue {BN_OFFICE}" in problem["detail"]

    # sent from Bắc Giang, where unsigned is fine: Bắc Ninh refuses the hand-over, and the
    # sender sees that receiver failed, with the reason in its trail
    response = await send(client, run, package(BN_OFFICE))
    assert response.status_code == 202, response.text
    failed = await until(client, run, response.json()["id"], lambda v: v.final)
    assert states(failed) == {BN_OFFICE: "failed"}
    assert any("signature-required" in e.detail for e in failed.trail if e.event == "failed")


async def test_a_relay_whose_signed_bytes_differ_from_its_package_is_refused(
    run: RunningTopology, client: httpx.AsyncClient
) -> None:
    topology = run.topology
    ngsp_agency = topology.platforms["ngsp"].agency
    peer = next(
        c for c in topology.consumers if c.platform == OTHER_LGSP and c.agency == ngsp_agency
    )
    headers = await bearer(client, run.url(OTHER_LGSP), topology, peer.id)
    body = signed(run, package(BN_OFFICE))
    other = package_from_xml(package(BN_OFFICE))  # another document than the one signed
    delivery = {
        "id": f"doc-mismatch-{time.time_ns():x}",
        "kind": "new",
        "receivers": [BN_OFFICE],
        "originPlatform": LGSP,
        "fromPlatform": "ngsp",
        "messageId": "mismatch-test",
        "package": other.model_dump(mode="json", by_alias=True),
        "packageXml": base64.b64encode(body).decode(),
    }
    response = await client.post(
        f"{run.url(OTHER_LGSP)}/documents/relay",
        content=json.dumps(delivery),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 422, "package-mismatch")


async def test_pki_issue_hands_out_keys_that_sign_packages_the_platform_accepts(
    run: RunningTopology, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    data_dir = str(run.settings.data_dir)
    assert cli(["pki", "issue", BG_OFFICE, "--data-dir", data_dir, "--out", str(tmp_path)]) == 0
    issued = set(os.listdir(tmp_path))
    assert issued == {f"{BG_OFFICE}.key.pem", f"{BG_OFFICE}.cert.pem", f"{BG_OFFICE}.p12", "ca.pem"}
    assert cli(["pki", "issue", "999.99.99.X99", "--data-dir", data_dir]) == 2

    # PEM
    key = serialization.load_pem_private_key((tmp_path / f"{BG_OFFICE}.key.pem").read_bytes(), None)
    certificate = x509.load_pem_x509_certificate((tmp_path / f"{BG_OFFICE}.cert.pem").read_bytes())
    assert isinstance(key, rsa.RSAPrivateKey)
    response = await send(client, run, sign_package(package(BG_STTTT), key, certificate))
    assert response.status_code == 202, response.text

    # PKCS#12, with the documented password, holding the CA's certificate too
    p12_key, p12_cert, chain = pkcs12.load_key_and_certificates(
        (tmp_path / f"{BG_OFFICE}.p12").read_bytes(), pki.PKCS12_PASSWORD.encode()
    )
    assert isinstance(p12_key, rsa.RSAPrivateKey) and p12_cert == certificate
    assert chain == [x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())]
    response = await send(client, run, sign_package(package(BG_STTTT), p12_key, p12_cert))
    assert response.status_code == 202, response.text


# -- each refusal under each policy (the policy alone, on the same packages) ----------------


_EXPECTED: dict[Mode, dict[str, str | None]] = {
    "off": {"unsigned": None, "altered": None, "unknown signer": None, "not the sender": None},
    "verify-if-present": {
        "unsigned": None,
        "altered": "broken-signature",
        "unknown signer": "unknown-signer",
        "not the sender": "signer-not-sender",
    },
    "required": {
        "unsigned": "signature-required",
        "altered": "broken-signature",
        "unknown signer": "unknown-signer",
        "not the sender": "signer-not-sender",
    },
}


@pytest.mark.parametrize("mode", list(_EXPECTED))
async def test_each_refusal_under_each_policy(run: RunningTopology, mode: Mode) -> None:
    policy = SignaturePolicy(mode, ca_file(run), "test-platform")
    key, foreign = _other_ca_credentials(BG_OFFICE)
    good = signed(run, package(BG_STTTT))
    cases = {
        "unsigned": package(BG_STTTT),
        "altered": _tampered(good),
        "unknown signer": sign_package(package(BG_STTTT), key, foreign),
        "not the sender": signed(run, package(BG_STTTT), agency=BG_STTTT),
    }
    for name, body in cases.items():
        expected = _EXPECTED[mode][name]
        if expected is None:
            kept, _ = await policy.check(body, BG_OFFICE)
            assert kept == (None if name == "unsigned" else body), f"{mode}/{name}"
            continue
        with pytest.raises(ProblemError) as refused:
            await policy.check(body, BG_OFFICE)
        assert (refused.value.status, refused.value.slug) == (422, expected), f"{mode}/{name}"
    kept, signer = await policy.check(good, BG_OFFICE)
    assert kept == good
    assert (signer is not None) == (mode != "off")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    target=st.sampled_from(
        ["SignatureValue", "DigestValue", "X509Certificate", "X509SubjectName", "SignedInfo"]
    ),
    junk=st.text(max_size=300),
    algorithm=st.one_of(st.none(), st.text(max_size=80)),
)
def test_whatever_is_written_into_a_signature_it_is_a_refusal_never_an_error(
    signed_package: tuple[bytes, Path], target: str, junk: str, algorithm: str | None
) -> None:
    body, ca = signed_package
    root = etree.fromstring(body)
    element = next(root.iter(f"{{{DSIG}}}{target}"))
    element.text = "".join(c for c in junk if c.isprintable())
    if algorithm is not None:
        method = next(root.iter(f"{{{DSIG}}}SignatureMethod"))
        method.set("Algorithm", "".join(c for c in algorithm if c.isprintable()))
    mutated = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    try:
        verify_package(mutated, ca)
    except SignatureRefused as refused:
        assert refused.detail
    except XmlRefused:
        pass


@pytest.fixture(scope="module")
def signed_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    data = tmp_path_factory.mktemp("fuzz-pki")
    mine = pki.ensure_agency(data, BG_OFFICE, "Văn phòng UBND tỉnh Bắc Giang")
    return sign_package(package(BG_STTTT), mine.key, mine.certificate), data / "pki" / "ca.pem"


# -- the PKI itself ------------------------------------------------------------------------


@pytest.mark.processes
def test_a_restart_reuses_the_pki_and_the_background_maker_fills_in_the_rest(
    tmp_path: Path,
) -> None:
    ca = pki.ensure_ca(tmp_path)
    first = pki.ensure_agency(tmp_path, BG_OFFICE, "Văn phòng UBND tỉnh Bắc Giang")
    agencies = {a.code: a.name for a in document_topology().agencies}
    # the process `up` starts after the nodes, at low priority
    subprocess.run(
        [sys.executable, "-m", "sandbox.pki.authority", str(tmp_path)],
        input=json.dumps(agencies).encode(),
        check=True,
    )
    assert pki.missing_agencies(tmp_path, agencies) == {}
    # a second start: the same CA, the same certificates, nothing made again
    assert pki.ensure_ca(tmp_path).certificate == ca.certificate
    again = pki.ensure_agency(tmp_path, BG_OFFICE, "ignored")
    assert again.certificate == first.certificate
    assert pki.fill(tmp_path, agencies) == 0


@pytest.mark.processes
async def test_up_makes_the_pki_once_healthy_and_a_second_start_reuses_it(tmp_path: Path) -> None:
    topology = load_topology(DEFAULT_TOPOLOGY)
    agencies = {a.code: a.name for a in topology.agencies}
    for run_number in (1, 2):
        addresses = AddressBook(topology, ports=free_ports(AddressBook(topology).nodes()))
        launcher = Launcher(DEFAULT_TOPOLOGY, topology, tmp_path, addresses, fork=True)
        try:
            await launcher.start()
            await launcher.wait_ready(60)
            assert await launcher.pki_filled() in (None, 0)
            assert pki.missing_agencies(tmp_path, agencies) == {}
            files = {p.name: p.read_bytes() for p in sorted((tmp_path / "pki").rglob("*.pem"))}
        finally:
            await launcher.stop()
        if run_number == 1:
            first = files
            # the CA's certificate and key, and each platform's HTTPS key and certificate
            https = len(topology.platforms) if addresses.https else 0
            assert len(first) == len(agencies) + 2 + https
    assert files == first  # nothing made again, nothing replaced
