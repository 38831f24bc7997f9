"""HTTPS on every platform, trusted through the sandbox CA (issue 21, item 1).

Every public NGSP client found is HTTPS-only (VietOpenCPS/opencps-v2's business-registration
client, used by ApplicantManagementImpl against `https://api.ngsp.gov.vn/...`). Here, on real
sockets: a Java client on the JDK's own HttpsURLConnection with the exported PKCS#12
truststore, httpx with the exported PEM and Python's stdlib with SSL_CERT_FILE each get a
token and make a routed call (and a document-axis call) over HTTPS; another CA, and the
public CA bundle, are refused (verification is on: no "trust all" anywhere); certificates
carry the names clients dial, are made once and kept; `up`, `ps` and `/topology` name both
URLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from pydantic import ValidationError

from contracts.platform import TopologyReport
from contracts.topology import HTTPS_PORT_OFFSET, Topology
from sandbox.cli import main
from sandbox.pki import authority as pki
from sandbox.pki.tls import credentials_path, ensure_server_credentials, server_names
from sandbox.runtime import control
from sandbox.testing.harness import RunningTopology, run_topology
from sandbox.topology.loading import load_topology
from services.common.sampledata import enterprises
from tests.helpers import bearer, credentials
from tests.test_axis_sdk import SdkClient
from tests.test_supervise import LGSP as SMALL_LGSP
from tests.test_supervise import NATIONAL, Up, finish, start_up, until

pytestmark = pytest.mark.processes

LGSP, NGSP, MOTCUA = "lgsp-bac-giang", "ngsp", "motcua-bac-giang"
VPUBND = "vxp.bacgiang.vpubnd"  # an e-office system calling the LGSP's axis endpoint
JAVA_CLIENT = Path(__file__).parent / "data" / "java" / "NgspHttpsClient.java"
JAVA_WITHIN = 120.0  # a bound so a hung JVM fails the test; never asserted as a speed


def exported(data_dir: Path, out: Path) -> pki.Exported:
    """What `gsp-sandbox pki export` writes, through the command itself."""
    assert main(["pki", "export", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    return pki.Exported(
        pem=out / "gsp-sandbox-ca.pem",
        der=out / "gsp-sandbox-ca.cer",
        truststore=out / "gsp-sandbox-truststore.p12",
    )


def trusting(pem: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pem))


def peer_fingerprint(url: str, pem: Path) -> str:
    """SHA-256 of the certificate the server at `url` presents, verified against `pem`."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        trusting(pem).wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load_topology("bac-giang-2022")


@pytest.fixture(scope="module")
async def secure(
    topology: Topology, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningTopology]:
    """The default topology with its platforms on HTTPS too; its PKI in the data dir."""
    async with run_topology(topology, tmp_path_factory.mktemp("https"), https=True) as running:
        yield running


@pytest.fixture(scope="module")
def trust(secure: RunningTopology, tmp_path_factory: pytest.TempPathFactory) -> pki.Exported:
    return exported(secure.settings.data_dir, tmp_path_factory.mktemp("trust"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> pki.Exported:
    """Another sandbox's CA: as trusted by a client as the real one, for other servers."""
    return exported(tmp_path_factory.mktemp("other-data"), tmp_path_factory.mktemp("other"))


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    javac = shutil.which("javac")
    assert javac, "no JDK: `make tools` installs Debian's openjdk-17-jdk-headless"
    out = tmp_path_factory.mktemp("java")
    subprocess.run([javac, "-d", str(out), str(JAVA_CLIENT)], check=True, timeout=JAVA_WITHIN)
    return out


async def run_java(classes: Path, truststore: Path, *args: str) -> tuple[int, str, str]:
    """The Java client in its own JVM, told only where its truststore is (the event loop keeps
    serving the sandbox meanwhile)."""
    java = shutil.which("java")
    assert java
    process = await asyncio.create_subprocess_exec(
        java,
        f"-Djavax.net.ssl.trustStore={truststore}",
        "-Djavax.net.ssl.trustStoreType=PKCS12",
        f"-Djavax.net.ssl.trustStorePassword={pki.PKCS12_PASSWORD}",
        "-cp",
        str(classes),
        "NgspHttpsClient",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(JAVA_WITHIN):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_java_gets_a_token_and_a_routed_call_over_https_with_the_exported_truststore(
    secure: RunningTopology,
    topology: Topology,
    trust: pki.Exported,
    stranger: pki.Exported,
    java_classes: Path,
) -> None:
    company = enterprises(topology.seed)[0]
    key, secret = credentials(topology, MOTCUA)
    # LGSP -> NGSP -> business registration, as OpenCPS's client calls it
    code, out, err = await run_java(
        java_classes, trust.truststore, secure.https_url(LGSP), key, secret, company.msdn
    )
    assert code == 0, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert (lines["token"], lines["call"]) == ("200", "200"), out
    detail = json.loads(lines["body"])
    assert detail["Data"]["MainInformation"]["NAME"] == company.ten
    assert detail["Data"]["MainInformation"]["ENTERPRISE_GDT_CODE"] == company.msdn

    # by name too: the certificate's DNS name is checked, as for api.ngsp.gov.vn
    by_name = secure.https_url(LGSP).replace("127.0.0.1", "localhost")
    code, out, err = await run_java(
        java_classes, trust.truststore, by_name, key, secret, company.msdn
    )
    assert code == 0 and "call 200" in out, err

    # the same JVM with another CA's truststore: the handshake is refused, nothing is sent
    code, out, err = await run_java(
        java_classes, stranger.truststore, secure.https_url(LGSP), key, secret, company.msdn
    )
    assert code == 1 and "token" not in out
    assert "SSLHandshakeException" in err and "PKIX path" in err, err


async def test_httpx_gets_a_token_a_routed_call_and_an_axis_call_with_the_pem(
    secure: RunningTopology, topology: Topology, trust: pki.Exported
) -> None:
    company = enterprises(topology.seed)[1]
    async with httpx.AsyncClient(verify=trusting(trust.pem), trust_env=False) as client:
        for platform, caller in ((LGSP, MOTCUA), (NGSP, LGSP)):
            base = secure.https_url(platform)
            assert base.startswith("https://")
            detail = await client.get(
                f"{base}/apiCSDLDKDN/1.0/chiTietDoanhNghiep",
                params={"msdn": company.msdn},
                headers=await bearer(client, base, topology, caller),
            )
            assert detail.status_code == 200, detail.text
            assert detail.json()["Data"]["MainInformation"]["NAME"] == company.ten
        # the document axis endpoint the platform serves, as the vendor SDK calls it
        system = next(s for s in topology.axis_systems if s.systemid == VPUBND)
        sdk = SdkClient(client, f"{secure.https_url(LGSP)}/vxp", system.systemid, system.secret)
        agencies = (await sdk.call("getAgenciesList"))["data"]
        assert system.agency in {a["code"] for a in agencies}


async def test_one_app_behind_both_ports(
    secure: RunningTopology, topology: Topology, trust: pki.Exported
) -> None:
    """A token issued over HTTPS is good over HTTP, and both calls are in one audit log."""
    async with (
        httpx.AsyncClient(verify=trusting(trust.pem), trust_env=False) as tls,
        httpx.AsyncClient(trust_env=False) as plain,
    ):
        headers = await bearer(tls, secure.https_url(LGSP), topology, MOTCUA)
        response = await plain.get(f"{secure.url(LGSP)}/topology", headers=headers)
        assert response.status_code == 200
        secure_report = (await tls.get(f"{secure.https_url(LGSP)}/topology")).json()
        for same in ("platform", "urls", "summary"):  # (health checks' times move on)
            assert secure_report[same] == response.json()[same]


async def test_python_trusts_it_through_ssl_cert_file(
    secure: RunningTopology, trust: pki.Exported
) -> None:
    """What the README tells Python users: SSL_CERT_FILE, read by the stdlib's default context."""
    script = (
        "import sys, urllib.request\n"
        "print(urllib.request.urlopen(sys.argv[1] + '/healthz', timeout=10).status)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        secure.https_url(NGSP),
        env={**os.environ, "SSL_CERT_FILE": str(trust.pem)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0 and out.decode().strip() == "200", err.decode()


async def test_a_client_trusting_another_ca_or_the_public_ones_is_refused(
    secure: RunningTopology, stranger: pki.Exported
) -> None:
    for verify in (trusting(stranger.pem), True):  # True: certifi's public CAs
        async with httpx.AsyncClient(verify=verify, trust_env=False) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(f"{secure.https_url(LGSP)}/healthz")


async def test_a_name_the_certificate_does_not_carry_is_refused(
    secure: RunningTopology, trust: pki.Exported
) -> None:
    context = trusting(trust.pem)
    host, port = secure.https_url(NGSP).removeprefix("https://").rsplit(":", 1)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _, writer = await asyncio.open_connection(
            host, int(port), ssl=context, server_hostname="api.ngsp.gov.vn"
        )
        writer.close()


def test_the_certificate_names_loopback_the_node_and_chains_to_the_ca(
    secure: RunningTopology,
) -> None:
    data_dir = secure.settings.data_dir
    ca = x509.load_pem_x509_certificate((data_dir / "pki" / "ca.pem").read_bytes())
    for platform in secure.topology.platforms:
        pem = credentials_path(data_dir, platform).read_bytes()
        certificate = x509.load_pem_x509_certificate(pem)
        certificate.verify_directly_issued_by(ca)
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", platform}
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
        assert (credentials_path(data_dir, platform).stat().st_mode & 0o777) == 0o600
    backends = [
        n for n in (data_dir / "pki" / "tls").glob("*.pem") if n.stem in secure.topology.backends
    ]
    assert backends == []  # back ends are reached through the platforms, over HTTP


async def test_a_restarted_platform_serves_the_certificate_it_made_first(
    secure: RunningTopology, trust: pki.Exported
) -> None:
    path = credentials_path(secure.settings.data_dir, NGSP)
    kept = path.read_bytes()
    before = await asyncio.to_thread(peer_fingerprint, secure.https_url(NGSP), trust.pem)
    await secure.stop(NGSP)
    await secure.start(NGSP)
    after = await asyncio.to_thread(peer_fingerprint, secure.https_url(NGSP), trust.pem)
    assert after == before and path.read_bytes() == kept
    await secure.wait_healthy()


def test_a_certificate_is_made_again_only_when_it_no_longer_fits(tmp_path: Path) -> None:
    names = server_names(NGSP)
    first = ensure_server_credentials(tmp_path, NGSP, names).read_bytes()
    assert ensure_server_credentials(tmp_path, NGSP, names).read_bytes() == first
    # a name more (GSP_TLS_NAMES, a LAN host name): made again, with it
    wider = ensure_server_credentials(tmp_path, NGSP, server_names(NGSP, ["sandbox.lan"]))
    second = wider.read_bytes()
    assert second != first
    san = x509.load_pem_x509_certificate(second).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "sandbox.lan" in san.value.get_values_for_type(x509.DNSName)
    # a new CA in the data dir (the old one deleted): the old certificate is not its
    for name in ("ca.pem", "ca-key.pem"):
        (tmp_path / "pki" / name).unlink()
    third = ensure_server_credentials(tmp_path, NGSP, names).read_bytes()
    ca = x509.load_pem_x509_certificate((tmp_path / "pki" / "ca.pem").read_bytes())
    x509.load_pem_x509_certificate(third).verify_directly_issued_by(ca)


async def test_topology_names_both_urls(secure: RunningTopology) -> None:
    for platform in secure.topology.platforms:
        report = await secure.report(platform)
        assert report.urls is not None
        assert (report.urls.http, report.urls.https) == (
            secure.url(platform),
            secure.https_url(platform),
        )


def test_the_exported_truststore_and_certificates_are_the_ca(
    secure: RunningTopology, trust: pki.Exported
) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    ca = (secure.settings.data_dir / "pki" / "ca.pem").read_bytes()
    assert trust.pem.read_bytes() == ca
    assert x509.load_der_x509_certificate(trust.der.read_bytes()) == x509.load_pem_x509_certificate(
        ca
    )
    store = pkcs12.load_pkcs12(trust.truststore.read_bytes(), pki.PKCS12_PASSWORD.encode())
    assert store.key is None and store.cert is None  # no key: nothing but trust
    (entry,) = store.additional_certs
    assert entry.certificate == x509.load_pem_x509_certificate(ca)
    assert entry.friendly_name == pki.TRUSTSTORE_ALIAS.encode()


def test_a_platform_https_port_that_clashes_is_refused(topology: Topology) -> None:
    raw = topology.model_dump(mode="json", exclude_defaults=True)
    raw["backends"]["population"]["port"] = raw["platforms"][NGSP]["port"] + HTTPS_PORT_OFFSET
    with pytest.raises(ValidationError, match=r"ports used twice: \[8443\]"):
        Topology.model_validate(raw)


# -- the node processes of `gsp-sandbox up` ------------------------------------------------


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    launched = start_up(tmp_path_factory.mktemp("https-up"), name="https-up")
    try:
        launched.wait_for("Ctrl-C stops everything")
        yield launched
    finally:
        finish(launched)
    assert launched.process.returncode == 0, launched.text()


def https_of(up: Up, node: str) -> str:
    return f"https://127.0.0.1:{up.ports[node] + HTTPS_PORT_OFFSET}"


def test_up_serves_https_from_its_node_processes_and_names_both_urls(
    up: Up, tmp_path: Path
) -> None:
    trust = exported(up.data_dir, tmp_path / "trust")
    text = up.text()
    for platform in ("ngsp", SMALL_LGSP):
        assert https_of(up, platform) in text  # up's table
        response = httpx.get(f"{https_of(up, platform)}/topology", verify=trusting(trust.pem))
        report = TopologyReport.model_validate_json(response.content)
        assert report.urls is not None and report.urls.https == https_of(up, platform)
    assert "pki export --data-dir" in text
    rows = {n["node"]: n for n in control.request(up.data_dir, {"command": "ps"})["nodes"]}
    assert rows[SMALL_LGSP]["urls"][SMALL_LGSP] == [up.url(SMALL_LGSP), https_of(up, SMALL_LGSP)]
    assert rows[NATIONAL]["urls"][NATIONAL] == [up.url(NATIONAL)]  # a back end: HTTP only
    shown = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "ps", "--data-dir", str(up.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert shown.returncode == 0, shown.stderr
    assert up.url(SMALL_LGSP) in shown.stdout and https_of(up, SMALL_LGSP) in shown.stdout


def test_a_platform_restarted_by_up_keeps_its_certificate(up: Up, tmp_path: Path) -> None:
    trust = exported(up.data_dir, tmp_path / "trust")
    path = credentials_path(up.data_dir, SMALL_LGSP)
    kept, before = path.read_bytes(), peer_fingerprint(https_of(up, SMALL_LGSP), trust.pem)
    pid = up.nodes()[SMALL_LGSP]["pid"]
    restarted = up.cli("restart", SMALL_LGSP)
    assert restarted.returncode == 0, restarted.stderr
    assert up.nodes()[SMALL_LGSP]["pid"] != pid

    def answers() -> bool:
        try:
            return httpx.get(
                f"{https_of(up, SMALL_LGSP)}/healthz", verify=trusting(trust.pem)
            ).is_success
        except httpx.HTTPError:
            return False

    until(answers, within=60, what="the restarted LGSP answers over HTTPS")
    assert peer_fingerprint(https_of(up, SMALL_LGSP), trust.pem) == before
    assert path.read_bytes() == kept
