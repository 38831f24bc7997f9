"""The sandbox on a real container engine (the `containers` tier of `make test`).

podman from Debian's packages (tests/engine.py: what it takes on a machine without Docker)
builds the project's image and runs it the ways the README shows: the whole sandbox in one
container (`gsp-sandbox up`, the image's command), docker-compose.yml through the engine's
Docker-API socket, and the Testcontainers libraries for Python and Node. Each must bring up
the same topology: healthy, 9 services through NGSP and 3 in the province, a routed call
and a document to an inbox. Host ports start at 14000 (this work's offset, 6000, above the
topology's 8000), moved up by thousands while taken, so a sandbox on the usual ports and
another engineer's run are left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contracts.platform import TopologyReport
from contracts.topology import Topology
from sandbox.testing.harness import all_healthy
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import load_topology
from services.common.sampledata import citizens
from tests import engine
from tests.helpers import credentials, full_name
from tests.test_compose import COMPOSE_FILE, raw_compose, served

pytestmark = pytest.mark.containers

TOPOLOGY = "bac-giang-2022"
LGSP, NGSP = "lgsp-bac-giang", "ngsp"
NATIONAL, INTRA = 9, 3
CALLER = "motcua-bac-giang"
SENDER, RECEIVER = "qlvb-bac-giang", "noivu-bac-giang"  # the e-office, an inbox (pull)
HOST_PORTS_FROM = 14000
# Bounds so that a broken start fails instead of hanging; never asserted as a speed.
HEALTHY_WITHIN = 480.0
NODE_PROJECT = Path(__file__).parent / "containers" / "node"


def until(condition: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(httpx.HTTPError):
            found = condition()
            if found:
                return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        time.sleep(0.5)


# -- the checks every way of running it must pass -------------------------------------


@dataclass(frozen=True)
class Published:
    """Where a running sandbox's platforms answer from this host. Each check runs at every
    base URL of a platform: HTTPS ports join as more URLs."""

    lgsp: list[str]
    ngsp: list[str]


def _bearer(client: httpx.Client, base: str, topology: Topology, consumer: str) -> dict[str, str]:
    response = client.post(
        f"{base}/token",
        data={"grant_type": "client_credentials"},
        auth=credentials(topology, consumer),
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _report(client: httpx.Client, base: str) -> TopologyReport:
    response = client.get(f"{base}/topology")
    response.raise_for_status()
    return TopologyReport.model_validate_json(response.content)


def _agency(topology: Topology, consumer: str) -> str:
    return next(c.agency for c in topology.consumers if c.id == consumer)


def document(topology: Topology) -> dict[str, Any]:
    """An official document from the province's e-office to an agency that reads its inbox,
    in edXML's JSON projection; its number is new on every run."""
    return {
        "from": {"organId": _agency(topology, SENDER), "organName": "Văn phòng UBND tỉnh"},
        "to": [{"organId": _agency(topology, RECEIVER), "organName": "Sở Nội vụ"}],
        "code": {"codeNumber": str(uuid.uuid4().int % 10**6), "codeNotation": "UBND-VP"},
        "promulgationInfo": {"place": "Bắc Giang", "promulgationDate": "2026/12/01"},
        "documentType": {"type": 1, "typeName": "Công văn"},
        "subject": "Về việc thử nghiệm liên thông văn bản trong container",
        "signerInfo": {"position": "Chánh Văn phòng", "fullName": "Trần Thị Bình"},
        "bussiness": {"bussinessDocType": 0},
        "attachments": [],
    }


def inbox(client: httpx.Client, base: str, topology: Topology) -> list[str]:
    response = client.get(
        f"{base}/documents/inbox", headers=_bearer(client, base, topology, RECEIVER)
    )
    response.raise_for_status()
    return [d["id"] for d in response.json()["documents"]]


def wait_healthy(client: httpx.Client, at: Published) -> None:
    """The LGSP's /healthz answers 200 once every node is up (GSP_HEALTHZ_WAITS_FOR_START_UP
    in the image); then its counts and NGSP's must be complete."""
    for base in at.lgsp:
        until(
            lambda base=base: client.get(f"{base}/healthz").status_code == 200,
            HEALTHY_WITHIN,
            f"{base}/healthz answers 200",
        )
    for base in [*at.lgsp, *at.ngsp]:
        until(
            lambda base=base: all_healthy(_report(client, base)),
            HEALTHY_WITHIN,
            f"{base}/topology all healthy",
        )


def check_sandbox(client: httpx.Client, at: Published) -> str:
    """Healthy, the counts, a routed call and a document to an inbox; the document's id."""
    topology = load_topology(TOPOLOGY)
    wait_healthy(client, at)
    for base in at.lgsp:
        report = _report(client, base)
        assert report.intra is not None
        assert (report.national.registered, report.national.reachable) == (NATIONAL, NATIONAL)
        assert (report.intra.registered, report.intra.reachable) == (INTRA, INTRA)
        assert report.summary == (
            f"LGSP bac-giang: {NATIONAL} services connected through NGSP, {INTRA} intra-province"
        )
        # a routed call: LGSP -> NGSP -> population, each its own process in the container(s)
        citizen = citizens(topology.seed, 10)[0]
        response = client.get(
            f"{base}/apiCSDLDC/1.0/congDan",
            params={"soDinhDanh": citizen.so_dinh_danh},
            headers=_bearer(client, base, topology, CALLER),
        )
        assert response.status_code == 200, response.text
        assert full_name(response.json()) == citizen.ho_ten
    for base in at.ngsp:
        national = _report(client, base)
        assert national.national.reachable == NATIONAL
        assert national.downstream is not None and national.downstream.reachable == 1
    base = at.lgsp[0]
    sent = client.post(
        f"{base}/documents",
        json=document(topology),
        headers=_bearer(client, base, topology, SENDER),
    )
    assert sent.status_code == 202, sent.text
    doc_id: str = sent.json()["id"]
    assert doc_id in inbox(client, base, topology)
    return doc_id


# -- the engine, the image --------------------------------------------------------------


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    missing = engine.missing_tools()
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: `make tools-containers` installs them")
    base = engine.base_image(tmp_path_factory.mktemp("base"))
    return engine.build_image(base)


@pytest.fixture(scope="module")
def docker_host(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with engine.docker_api(tmp_path_factory.mktemp("engine")) as host:
        yield host


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        yield client


def _container_ports() -> tuple[int, int]:
    addresses = AddressBook(load_topology(TOPOLOGY))
    ports = sorted(addresses.port(n) for n in addresses.nodes())
    return ports[0], ports[-1]


def _tls_ports() -> tuple[int, int]:
    """The platforms' HTTPS ports (their HTTP port + 443)."""
    addresses = AddressBook(load_topology(TOPOLOGY))
    ports = sorted(p for n in addresses.topology.platforms if (p := addresses.tls_port(n)))
    return ports[0], ports[-1]


def _shift_for_every_port() -> int:
    """A shift that puts every published port, plain and HTTPS, on a free host port."""
    first, _ = _container_ports()
    _, tls_last = _tls_ports()
    return engine.free_port_block(HOST_PORTS_FROM, tls_last - first + 1) - first


def _published(shift: int, scheme: str = "http") -> Published:
    plus = 443 if scheme == "https" else 0
    return Published(
        lgsp=[f"{scheme}://127.0.0.1:{8001 + plus + shift}"],
        ngsp=[f"{scheme}://127.0.0.1:{8000 + plus + shift}"],
    )


def check_over_https(container: str, shift: int, tmp: Path) -> None:
    """The same checks at the platforms' HTTPS ports, trusting only the sandbox CA copied out of
    the container (what an agency's client does: no "trust all")."""
    ca = tmp / "ca.pem"
    engine.podman("cp", f"{container}:/data/pki/ca.pem", str(ca))
    trust = ssl.create_default_context(cafile=str(ca))
    with httpx.Client(timeout=10.0, trust_env=False, verify=trust) as tls:
        check_sandbox(tls, _published(shift, "https"))


# -- 1. the whole sandbox in one container ----------------------------------------------


def _run_one(image: str, volume: str, first: int, last: int, shift: int) -> str:
    tls_first, tls_last = _tls_ports()
    return engine.podman(
        "run",
        "-d",
        "--rm",
        "-p",
        f"{first + shift}-{last + shift}:{first}-{last}",
        "-p",
        f"{tls_first + shift}-{tls_last + shift}:{tls_first}-{tls_last}",
        "-v",
        f"{volume}:/data",
        image,
        "up",
        "--topology",
        TOPOLOGY,
        # `up` gives up on nodes not healthy by then (default 60 s): a bound for a loaded CI
        "--timeout",
        str(HEALTHY_WITHIN),
    ).strip()


def test_the_whole_sandbox_in_one_container_keeps_its_data_in_a_volume(
    image: str, client: httpx.Client, tmp_path: Path
) -> None:
    first, last = _container_ports()
    shift = _shift_for_every_port()
    at = _published(shift)
    volume = f"gsp-one-{uuid.uuid4().hex[:8]}"
    container = ""
    try:
        container = _run_one(image, volume, first, last, shift)
        doc_id = check_sandbox(client, at)
        check_over_https(container, shift, tmp_path)
        # SIGTERM to `gsp-sandbox up`, which stops every node: a clean exit
        engine.podman("stop", "--time", "30", container)
        container = _run_one(image, volume, first, last, shift)
        wait_healthy(client, at)
        assert doc_id in inbox(client, at.lgsp[0], load_topology(TOPOLOGY)), "data lost"
    finally:
        if container:
            engine.podman("rm", "-f", "--time", "10", container, check=False)
        engine.podman("volume", "rm", "-f", volume, check=False)


# -- 2. docker-compose.yml through the Docker-API socket --------------------------------


def _shifted(entry: str, shift: int) -> str:
    host, _, target = entry.partition(":")
    shifted = "-".join(str(int(p) + shift) for p in host.split("-"))
    return f"{shifted}:{target}"


def compose_file_for_test(tmp: Path, image: str, shift: int) -> Path:
    """docker-compose.yml as it is, but for the image just built and host ports moved up."""
    document = raw_compose()
    for service in document["services"].values():
        service.pop("build", None)
        service["image"] = image
        service["ports"] = [_shifted(str(p), shift) for p in service.get("ports", [])]
    path = tmp / COMPOSE_FILE.name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _answers_healthy(client: httpx.Client, port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    return False


def drive_health_checks(client: httpx.Client, project: str, shift: int) -> bool:
    """Run the health check of each container whose nodes answer /healthz from the host, so
    that each check runs once, when it passes: on a loaded machine a check run too early
    can outlast its 5 s timeout and count as a failure. True once every service is healthy."""
    topology = load_topology(TOPOLOGY)
    addresses = AddressBook(topology)
    services = raw_compose()["services"]
    statuses = engine.compose_statuses(project)
    for service, status in statuses.items():
        if "(healthy)" in status:
            continue
        nodes = served(topology, services[service])
        if all(_answers_healthy(client, addresses.port(n) + shift) for n in nodes):
            engine.healthcheck(project, service)
    return len(statuses) == len(services) and all("(healthy)" in s for s in statuses.values())


def test_docker_compose_runs_the_file_on_the_engine_and_down_leaves_nothing(
    image: str, docker_host: str, client: httpx.Client, tmp_path: Path
) -> None:
    shift = _shift_for_every_port()
    at = _published(shift)
    project = f"gspci{uuid.uuid4().hex[:8]}"
    compose = [
        "docker-compose",
        "--project-name",
        project,
        "--file",
        str(compose_file_for_test(tmp_path, image, shift)),
    ]
    env = {**engine.engine_env(), "DOCKER_HOST": docker_host}
    env.pop("GSP_TOPOLOGY", None)
    log = tmp_path / "compose.log"
    up: subprocess.Popen[bytes] | None = None
    try:
        with log.open("wb") as out:
            up = subprocess.Popen([*compose, "up", "--detach"], env=env, stdout=out, stderr=out)
            # Compose waits on each dependency's health, which podman only checks when asked.
            deadline = time.monotonic() + HEALTHY_WITHIN
            while up.poll() is None:
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                drive_health_checks(client, project, shift)
                time.sleep(1.0)
        assert up.returncode == 0, log.read_text(errors="replace")[-3000:]
        until(
            lambda: drive_health_checks(client, project, shift),
            HEALTHY_WITHIN,
            "every container healthy",
        )
        check_sandbox(client, at)
        # The platforms made their certificates from the CA in the shared volume.
        check_over_https(f"{project}_ngsp_1", shift, tmp_path)
    finally:
        if up is not None and up.poll() is None:  # failed while Compose was still starting
            up.kill()
            up.wait()
        down = subprocess.run(
            [*compose, "down", "--volumes", "--timeout", "30"],
            env=env,
            capture_output=True,
            text=True,
            timeout=engine.COMMAND_WITHIN,
            check=False,
        )
    assert down.returncode == 0, down.stderr
    assert engine.leftovers(project) == {"containers": [], "volumes": [], "networks": []}


# -- 3. Testcontainers -------------------------------------------------------------------


@pytest.fixture
def testcontainers_env(docker_host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Testcontainers against podman's socket: no reaper (its image is on Docker Hub), and
    this host's ports, not a gateway's (the libraries take this machine for a container)."""
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    monkeypatch.setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
    monkeypatch.setenv("TESTCONTAINERS_CONNECTION_MODE", "docker_host")


@pytest.fixture
def gsp_sandbox_container(image: str, testcontainers_env: None) -> Iterator[Published]:
    """The README's fixture: the sandbox from its image, ready when the LGSP's /healthz is."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    container = (
        DockerContainer(image)
        .with_command("up")
        .with_exposed_ports(8000, 8001)
        .waiting_for(HttpWaitStrategy(8001, "/healthz").with_startup_timeout(180))
    )
    with container:
        host = container.get_container_host_ip()
        yield Published(
            lgsp=[f"http://{host}:{container.get_exposed_port(8001)}"],
            ngsp=[f"http://{host}:{container.get_exposed_port(8000)}"],
        )


def test_testcontainers_python_starts_the_sandbox(
    gsp_sandbox_container: Published, client: httpx.Client
) -> None:
    check_sandbox(client, gsp_sandbox_container)


def test_testcontainers_node_starts_the_sandbox(
    image: str, docker_host: str, tmp_path: Path
) -> None:
    npm = shutil.which("npm")
    assert npm is not None, "npm: `make tools-containers` installs it"
    env = {
        **os.environ,
        "DOCKER_HOST": docker_host,
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
        "GSP_IMAGE": image,
        "npm_config_cache": str(tmp_path / "npm-cache"),
    }
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=NODE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=engine.COMMAND_WITHIN,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    ran = subprocess.run(
        ["node", "--test", "--test-reporter=tap"],
        cwd=NODE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=engine.COMMAND_WITHIN,
        check=False,
    )
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-4000:]
    assert "# pass 1" in ran.stdout and "# fail 0" in ran.stdout, ran.stdout


def test_the_compose_file_for_the_test_is_the_shipped_one_with_ports_moved(
    tmp_path: Path,
) -> None:
    """What the engine runs differs from docker-compose.yml in image and host ports only."""
    path = compose_file_for_test(tmp_path, engine.IMAGE, 6000)
    moved = yaml.safe_load(path.read_text(encoding="utf-8"))
    shipped = raw_compose()
    assert moved["volumes"] == shipped["volumes"]
    for name, service in shipped["services"].items():
        twin = dict(moved["services"][name])
        assert twin.pop("image") == engine.IMAGE
        assert [_shifted(p, -6000) for p in twin.pop("ports")] == service["ports"]
        rest = {k: v for k, v in service.items() if k not in {"build", "image", "ports"}}
        assert twin == json.loads(json.dumps(rest)), name
