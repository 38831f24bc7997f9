"""`gsp-sandbox export kubernetes`, checked without a cluster.

No cluster runs here, so, as tests/test_compose.py does for Compose: (a) the manifests the
command writes are validated against the Kubernetes schemas (kubernetes-validate, which ships
them: no network) and checked against the topology (every node a Deployment, a Service of
the name the others dial, its own volume, probes, the topology where the node reads it);
(b) every Deployment's container is started as a local process with its command, its
environment and its volumes made local directories, all at once as a cluster would, and the
platforms must then report the topology's counts and route a call.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from kubernetes_validate.utils import ValidationError, latest_version, validate

from contracts.edxml import DocumentPackage
from contracts.edxml.signature import sign_package
from contracts.edxml.xml import package_from_xml, package_to_xml
from contracts.topology import Topology
from sandbox.cli import main
from sandbox.export import kubernetes
from sandbox.pki import authority as pki
from sandbox.testing.harness import all_healthy
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import load_topology
from sandbox.topology.selection import select_nodes
from services.common.sampledata import citizens
from services.common.seeds import load_seeds
from tests.helpers import bearer, free_ports, full_name
from tests.test_compose import (
    LGSP,
    MOTCUA,
    NGSP,
    START_WITHIN,
    Container,
    Dockerfile,
    _base_env,
    _local,
    _report,
    node_command,
)

TOPOLOGIES = ["bac-giang-2022", "bac-giang-2023"]
PKI_HOME = "pki-home"
SIGNER, PULL_RECEIVER = "000.00.01.H04", "000.00.05.H04"  # the provincial office; Home Affairs
FIXTURES = Path(__file__).parent / "data" / "edxml"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SEEDS = ROOT / "seeds" / "example"
Manifest = dict[str, Any]


def export(topology: str | Path, out: Path, *options: str) -> list[Manifest]:
    """What the command writes, read back as `kubectl apply -f` reads it; the PKI whose CA
    the platforms trust in `out/PKI_HOME`."""
    pki_home = ["--pki-data-dir", str(out / PKI_HOME)]
    assert (
        main(["export", "kubernetes", str(topology), "--out", str(out), *pki_home, *options]) == 0
    )
    (written,) = out.glob("*.yaml")
    return [doc for doc in yaml.safe_load_all(written.read_text(encoding="utf-8")) if doc]


def of_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    found = {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}
    assert len(found) == len([d for d in docs if d["kind"] == kind]), f"a {kind} named twice"
    return found


def container_of(deployment: Manifest) -> Manifest:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: Manifest) -> dict[str, str]:
    entries = container["env"]
    assert all(set(e) == {"name", "value"} for e in entries), "plain values only"
    return {e["name"]: e["value"] for e in entries}


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def served_by(topology: Topology, deployment: Manifest) -> list[str]:
    return select_nodes(topology, json.loads(env_of(container_of(deployment))["GSP_NODES"]))


def mounts(deployment: Manifest) -> dict[str, Manifest]:
    """mountPath -> the volume mounted there."""
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in container_of(deployment)["volumeMounts"]}


def mounted_at(deployment: Manifest, path: str) -> tuple[str, Manifest]:
    """The mount holding `path`, and its volume."""
    holding = [m for m in mounts(deployment) if path == m or path.startswith(m.rstrip("/") + "/")]
    assert holding, f"{path} is on no volume of {deployment['metadata']['name']}"
    longest = max(holding, key=len)
    return longest, mounts(deployment)[longest]


@pytest.fixture(scope="module", params=TOPOLOGIES)
def exported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Topology, list[Manifest]]:
    name: str = request.param
    return load_topology(name), export(name, tmp_path_factory.mktemp(name))


# -- (a) the manifests --------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError(f"the validation tried the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("version", [latest_version(), "1.30.0"])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(
    exported: tuple[Topology, list[Manifest]], version: str
) -> None:
    _, docs = exported
    for doc in docs:
        # strict: an unknown field (a misspelt probe key) is an error, not ignored
        validate(doc, version, strict=True)


@pytest.mark.usefixtures("no_network")
def test_the_validation_does_reject_a_wrong_manifest(
    exported: tuple[Topology, list[Manifest]],
) -> None:
    _, docs = exported
    deployment = next(iter(of_kind(docs, "Deployment").values()))
    broken = json.loads(json.dumps(deployment))
    container_of(broken)["readinessProbe"]["httpGet"]["paht"] = "/healthz"
    with pytest.raises(ValidationError, match="paht"):
        validate(broken, latest_version(), strict=True)


def test_every_node_has_a_deployment_a_service_and_a_volume_of_its_own(
    exported: tuple[Topology, list[Manifest]],
) -> None:
    topology, docs = exported
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    claims = of_kind(docs, "PersistentVolumeClaim")
    nodes = AddressBook(topology).nodes()
    serving = {n: name for name, d in deployments.items() for n in served_by(topology, d)}
    assert sorted(serving) == sorted(nodes)
    assert len(deployments) == len(nodes), "one Deployment per node"

    used_claims: list[str] = []
    for node, name in serving.items():
        deployment = deployments[name]
        container, env = container_of(deployment), env_of(container_of(deployment))
        pod = deployment["spec"]["template"]
        assert matches(deployment["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
        # SQLite files on a ReadWriteOnce volume: one pod at a time
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}

        # the others dial host_pattern(node):port; that host is a Service in the namespace
        # which selects this pod only and forwards that port to the port the node listens on
        port = AddressBook(topology).port(node)
        host = env["GSP_HOST_PATTERN"].format(node=node)
        service = services[host]
        assert service["metadata"]["namespace"] == deployment["metadata"]["namespace"]
        selected = [
            d
            for d in deployments.values()
            if matches(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert selected == [deployment], node
        service_ports = {p["name"]: p for p in service["spec"]["ports"]}
        # a platform also serves HTTPS, on its port + 443: a second port of its Service
        tls_port = AddressBook(topology).tls_port(node)
        assert set(service_ports) == ({"http", "https"} if tls_port else {"http"}), node
        for service_port, number in zip(
            service_ports.values(), [port, *([tls_port] if tls_port else [])], strict=True
        ):
            assert service_port["port"] == number
            (target,) = [p for p in container["ports"] if p["name"] == service_port["targetPort"]]
            assert target["containerPort"] == number
        container_port = next(p for p in container["ports"] if p["name"] == "http")
        assert env["GSP_BIND_HOST"] == "0.0.0.0"

        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            assert get["path"] == "/healthz" and get["port"] == container_port["name"], probe

        # its SQLite files on its own claim, requested ReadWriteOnce
        _, volume = mounted_at(deployment, env["GSP_DATA_DIR"])
        claim = claims[volume["persistentVolumeClaim"]["claimName"]]
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        used_claims.append(claim["metadata"]["name"])
    assert sorted(used_claims) == sorted(claims), "a claim per node, none shared or unused"
    assert len({s["metadata"]["name"] for s in services.values()}) == len(nodes)


def test_the_topology_is_a_config_map_mounted_where_every_node_reads_it(
    exported: tuple[Topology, list[Manifest]], tmp_path: Path
) -> None:
    topology, docs = exported
    config_maps = of_kind(docs, "ConfigMap")
    for name, deployment in of_kind(docs, "Deployment").items():
        path = env_of(container_of(deployment))["GSP_TOPOLOGY"]
        mount, volume = mounted_at(deployment, path)
        config_map = config_maps[volume["configMap"]["name"]]
        key = path.removeprefix(mount.rstrip("/") + "/")
        local = tmp_path / name / key
        local.parent.mkdir(parents=True)
        local.write_text(config_map["data"][key], encoding="utf-8")
        assert load_topology(local) == topology, name
        # a new topology restarts the pods: their template changes with it
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["checksum/topology"]


def test_each_platform_serves_https_with_a_certificate_of_the_exported_ca(
    exported: tuple[Topology, list[Manifest]],
) -> None:
    """A Secret per platform (kubernetes.io/tls) mounted where the node reads it; its
    certificate names the Service as pods dial it and chains to the CA the ConfigMap holds."""
    topology, docs = exported
    (config_map,) = of_kind(docs, "ConfigMap").values()
    ca = x509.load_pem_x509_certificate(config_map["data"]["ca.pem"].encode())
    secrets = of_kind(docs, "Secret")
    assert sorted(secrets) == sorted(f"{p}-tls" for p in topology.platforms)
    for name, deployment in of_kind(docs, "Deployment").items():
        env = env_of(container_of(deployment))
        if name not in topology.platforms:
            assert "GSP_TLS_CERT_FILE" not in env
            continue
        files = {}
        for variable in ("GSP_TLS_CERT_FILE", "GSP_TLS_KEY_FILE"):
            _, volume = mounted_at(deployment, env[variable])
            secret = secrets[volume["secret"]["secretName"]]
            assert secret["type"] == "kubernetes.io/tls"
            assert volume["secret"]["defaultMode"] == 0o440  # the pod's group (fsGroup) only
            files[variable] = base64.b64decode(secret["data"][env[variable].rsplit("/", 1)[1]])
        certificate = x509.load_pem_x509_certificate(files["GSP_TLS_CERT_FILE"])
        certificate.verify_directly_issued_by(ca)
        key = serialization.load_pem_private_key(files["GSP_TLS_KEY_FILE"], password=None)
        assert key.public_key() == certificate.public_key()
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        namespace = deployment["metadata"]["namespace"]
        assert set(san.get_values_for_type(x509.DNSName)) == {
            "localhost",  # kubectl port-forward
            name,
            f"{name}.{namespace}",
            f"{name}.{namespace}.svc",
            f"{name}.{namespace}.svc.cluster.local",
        }
        # a renewed certificate restarts the pod, as a new topology does
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["checksum/tls"]


def test_a_second_export_keeps_the_certificates_of_the_first(tmp_path: Path) -> None:
    def certificates(out: Path) -> dict[str, str]:
        secrets = of_kind(export("bac-giang-2022", out), "Secret")
        return {name: secret["data"]["tls.crt"] for name, secret in secrets.items()}

    first = certificates(tmp_path)
    (tmp_path / "bac-giang-2022.yaml").unlink()
    assert certificates(tmp_path) == first


def test_the_image_and_the_user_are_those_of_the_dockerfile(
    exported: tuple[Topology, list[Manifest]],
) -> None:
    _, docs = exported
    dockerfile = Dockerfile.read()
    (uid,) = re.findall(r"--uid (\d+)", " ".join(dockerfile.all("RUN")))
    for deployment in of_kind(docs, "Deployment").values():
        container = container_of(deployment)
        assert container["command"] == node_command()
        assert container["image"] == kubernetes.DEFAULT_IMAGE
        security = deployment["spec"]["template"]["spec"]["securityContext"]
        assert security["runAsUser"] == security["fsGroup"] == int(uid)
    namespaces = of_kind(docs, "Namespace")
    assert list(namespaces) == [kubernetes.DEFAULT_NAMESPACE]
    assert docs[0]["kind"] == "Namespace", "created before what it holds"
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == set(namespaces)


def test_image_namespace_and_storage_are_options(tmp_path: Path) -> None:
    docs = export(
        "bac-giang-2022",
        tmp_path,
        "--image=registry.example/gsp-sandbox:0.1.0",
        "--namespace=sandbox-test",
        "--storage=5Gi",
        "--storage-class=fast-ssd",
    )
    for doc in docs:
        validate(doc, latest_version(), strict=True)
    assert list(of_kind(docs, "Namespace")) == ["sandbox-test"]
    assert {d["metadata"].get("namespace", "sandbox-test") for d in docs} == {"sandbox-test"}
    images = {container_of(d)["image"] for d in of_kind(docs, "Deployment").values()}
    assert images == {"registry.example/gsp-sandbox:0.1.0"}
    for claim in of_kind(docs, "PersistentVolumeClaim").values():
        assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
        assert claim["spec"]["storageClassName"] == "fast-ssd"


@pytest.mark.parametrize(
    ("option", "named"),
    [("--namespace=Sandbox_1", "--namespace"), ("--storage=lots", "--storage")],
)
def test_a_wrong_option_is_named(
    option: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["export", "kubernetes", "bac-giang-2022", "--out", str(tmp_path), option])
    assert code == 2
    assert named in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_node_name_that_cannot_be_a_service_name_is_refused() -> None:
    topology = load_topology("bac-giang-2022")
    backends = {**topology.backends, "spare-": topology.backends["population"]}
    with pytest.raises(kubernetes.ExportError, match="spare-"):
        kubernetes.manifests(topology.model_copy(update={"backends": backends}))


def test_the_seeds_of_a_topology_travel_in_the_config_map(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"extends: bac-giang-2022\nseeds: {EXAMPLE_SEEDS}\n", encoding="utf-8")
    docs = export(mine, tmp_path / "out")
    (config_map,) = of_kind(docs, "ConfigMap").values()
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for key, text in config_map["data"].items():
        (mounted / key).write_text(text, encoding="utf-8")
    loaded = load_topology(mounted / "topology.yaml")
    assert loaded.seeds is not None and loaded.seeds.parent == mounted
    assert load_seeds([loaded.seeds]) == load_seeds([EXAMPLE_SEEDS])
    assert loaded.model_copy(update={"seeds": None}) == load_topology("bac-giang-2022")


# -- (b) the Deployments as local processes -----------------------------------------------


@dataclass
class Pod(Container):
    """A Deployment's one container run as a local process, ready when its probe is."""

    probe_url: str = ""

    async def wait_healthy(self) -> None:
        assert self.process is not None
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            try:
                async with asyncio.timeout(START_WITHIN):
                    while True:
                        if self.process.returncode is not None:
                            raise AssertionError(f"{self.name} exited: {self.tail()}")
                        with contextlib.suppress(httpx.TransportError):
                            response = await client.get(self.probe_url)
                            if response.status_code == 200:
                                return
                            self.last_check = f"{response.status_code} {response.text}"
                        await asyncio.sleep(0.25)
            except TimeoutError:
                raise AssertionError(
                    f"{self.name} not ready: {self.last_check}\n{self.tail()}"
                ) from None


def _local_path(value: str, local_mounts: Mapping[str, Path]) -> str:
    """A path inside the container as the local directory standing in for its volume."""
    for mount, local in local_mounts.items():
        if value == mount or value.startswith(mount.rstrip("/") + "/"):
            return str(local / value.removeprefix(mount).lstrip("/"))
    return value


def pods(topology: Topology, docs: list[Manifest], tmp: Path) -> Iterator[Pod]:
    """Every Deployment's container, as in the cluster except: each volume a directory (a
    claim its own, a ConfigMap its files), listening on loopback, and each Service's DNS
    name mapped to 127.0.0.1 and its port to a free one."""
    config_maps = of_kind(docs, "ConfigMap")
    claims = of_kind(docs, "PersistentVolumeClaim")
    secrets = of_kind(docs, "Secret")
    nodes = AddressBook(topology).nodes()
    found = free_ports([*nodes, *(f"{p}:tls" for p in topology.platforms)])
    ports = {n: found[n] for n in nodes}
    tls_ports = {p: found[f"{p}:tls"] for p in topology.platforms}
    image_env = Dockerfile.read().env()
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    for name, deployment in of_kind(docs, "Deployment").items():
        container = container_of(deployment)
        local_mounts: dict[str, Path] = {}
        for mount, volume in mounts(deployment).items():
            if "configMap" in volume:
                local = tmp / "pods" / name / "config"
                local.mkdir(parents=True)
                for key, text in config_maps[volume["configMap"]["name"]]["data"].items():
                    (local / key).write_text(text, encoding="utf-8")
            elif "secret" in volume:
                local = tmp / "pods" / name / "secret"
                local.mkdir(parents=True)
                for key, value in secrets[volume["secret"]["secretName"]]["data"].items():
                    (local / key).write_bytes(base64.b64decode(value))
                    (local / key).chmod(0o600)
            else:
                claim = claims[volume["persistentVolumeClaim"]["claimName"]]
                local = tmp / "volumes" / claim["metadata"]["name"]
                local.mkdir(parents=True)
            local_mounts[mount] = local
        env = {k: _local_path(v, local_mounts) for k, v in env_of(container).items()}
        env |= {
            "GSP_BIND_HOST": "127.0.0.1",
            "GSP_HOST_PATTERN": "127.0.0.1",
            "GSP_PORTS": json.dumps(ports),
            "GSP_TLS_PORTS": json.dumps(tls_ports),
        }
        (node,) = served_by(topology, deployment)
        probe = container["readinessProbe"]["httpGet"]
        yield Pod(
            name,
            {**_base_env(), **image_env, **env},
            _local([*container["command"], *container.get("args", [])]),
            [],
            tmp / "logs" / f"{name}.log",
            probe_url=f"http://127.0.0.1:{ports[node]}{probe['path']}",
        )


@contextlib.asynccontextmanager
async def cluster_up(
    topology: Topology, docs: list[Manifest], tmp: Path
) -> AsyncIterator[dict[str, Pod]]:
    running: dict[str, Pod] = {}
    try:
        # A cluster starts every Deployment at once: nothing waits for anything else.
        for pod in pods(topology, docs, tmp):
            running[pod.name] = pod
            await pod.start()
        await asyncio.gather(*(p.wait_healthy() for p in running.values()))
        yield running
    finally:
        codes = await asyncio.gather(*(p.stop() for p in running.values()))
        left = [p.name for p in running.values() if p.orphans()]
        assert not left, f"processes left behind by {left}"
        unclean = {p.name: code for p, code in zip(running.values(), codes, strict=True) if code}
        assert not unclean, f"did not stop cleanly on SIGTERM: {unclean}"


def _package_to(receiver: str) -> bytes:
    """The fixture package, unsigned, as a new document of its own for `receiver`."""
    data = package_from_xml((FIXTURES / "new-with-attachments.edxml").read_bytes()).model_dump(
        by_alias=True
    )
    data["to"] = [{**data["to"][0], "organId": receiver}]
    data["code"]["codeNumber"] = str(int(time.time() * 1000) % 1_000_000)
    data["documentId"] = ""
    return package_to_xml(DocumentPackage.model_validate(data))


@pytest.mark.processes
@pytest.mark.parametrize(
    ("topology_name", "national", "intra"),
    [("bac-giang-2022", 9, 3), ("bac-giang-2023", 13, 26)],
)
async def test_every_deployment_as_a_process_brings_the_topology_up(
    topology_name: str, national: int, intra: int, tmp_path: Path
) -> None:
    topology = load_topology(topology_name)
    docs = export(topology_name, tmp_path / "manifests")
    async with (
        cluster_up(topology, docs, tmp_path) as running,
        httpx.AsyncClient(timeout=10.0, trust_env=False) as client,
    ):
        ports = json.loads(running[LGSP].env["GSP_PORTS"])
        lgsp, ngsp = (f"http://127.0.0.1:{ports[p]}" for p in (LGSP, NGSP))
        async with asyncio.timeout(START_WITHIN):
            while True:
                report = await _report(client, lgsp)
                if all_healthy(report):
                    break
                await asyncio.sleep(0.2)
        assert report.intra is not None
        assert (report.national.registered, report.national.reachable) == (national, national)
        assert (report.intra.registered, report.intra.reachable) == (intra, intra)
        national_report = await _report(client, ngsp)
        assert national_report.downstream is not None
        assert national_report.downstream.reachable == 1

        # a routed call crosses three pods: LGSP -> NGSP -> population
        citizen = citizens(topology.seed, 10)[0]
        response = await client.get(
            f"{lgsp}/apiCSDLDC/1.0/congDan",
            params={"soDinhDanh": citizen.so_dinh_danh},
            headers=await bearer(client, lgsp, topology, MOTCUA),
        )
        assert response.status_code == 200, response.text
        assert full_name(response.json()) == citizen.ho_ten

        # a signed document: every pod has its own volume, and the platforms trust the CA
        # the export put in the ConfigMap (without it: 422, "no trust anchor")
        mine = pki.ensure_agency(
            tmp_path / "manifests" / PKI_HOME, SIGNER, topology.agency_name(SIGNER)
        )
        body = sign_package(_package_to(PULL_RECEIVER), mine.key, mine.certificate)
        headers = await bearer(client, lgsp, topology, MOTCUA)
        sent = await client.post(
            f"{lgsp}/documents",
            content=body,
            headers={**headers, "Content-Type": "application/xml"},
        )
        assert sent.status_code == 202, sent.text
        view = (await client.get(f"{lgsp}/documents/{sent.json()['id']}", headers=headers)).json()
        assert view["signedBy"]["agency"] == SIGNER

        # over HTTPS, with the certificate from the platform's Secret, trusted through the
        # CA of the PKI the export used (what `pki export` writes for clients)
        tls_ports = json.loads(running[LGSP].env["GSP_TLS_PORTS"])
        ca = tmp_path / "manifests" / PKI_HOME / "pki" / "ca.pem"
        async with httpx.AsyncClient(
            timeout=10.0, trust_env=False, verify=ssl.create_default_context(cafile=str(ca))
        ) as secure:
            base = f"https://127.0.0.1:{tls_ports[LGSP]}"
            response = await secure.get(
                f"{base}/apiCSDLDC/1.0/congDan",
                params={"soDinhDanh": citizen.so_dinh_danh},
                headers=await bearer(secure, base, topology, MOTCUA),
            )
            assert response.status_code == 200, response.text
    # each platform's audit log on its own volume, and on no other
    volumes = tmp_path / "volumes"
    for platform in topology.platforms:
        holding = [v.name for v in volumes.iterdir() if (v / f"{platform}.audit.sqlite3").exists()]
        assert holding == [kubernetes.claim_name(platform)], platform
