"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

No engine runs here, so: (a) the file is validated by Compose itself where it is installed
(`docker compose config` / Debian's `docker-compose config`) and always against the Compose
Specification's JSON schema, then checked against both shipped topologies (every node served
once and reachable by its name, published ports, health checks, start order); (b) every
service is started as a local process with the image's entrypoint and the file's
environment, in the file's dependency order, each waited for with its own health check, and
the platforms must then report the topology's counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import functools
import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import tomllib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from contracts.platform import TopologyReport
from contracts.topology import Topology
from sandbox.runtime import healthcheck
from sandbox.runtime.settings import SandboxSettings
from sandbox.testing.harness import all_healthy, run_topology
from sandbox.topology.addresses import AddressBook
from sandbox.topology.loading import DEFAULT_TOPOLOGY, load_topology, shipped_topologies
from sandbox.topology.selection import SelectionError, select_nodes
from services.common.sampledata import citizens
from tests.helpers import bearer, free_ports, full_name

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).parent / "data" / "compose-spec.json"
LGSP = "lgsp-bac-giang"
NGSP = "ngsp"
MOTCUA = "motcua-bac-giang"
# Bounds so a broken start fails instead of hanging; never asserted as a speed.
START_WITHIN = 180.0
STOP_WITHIN = 30.0


# -- reading the files as Docker would -----------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}"
    r"|(?P<named>\w+)|(?P<other>\{[^}]*\}))"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable syntax that the file may use: $$, $NAME, ${NAME}, ${NAME:-d}."""

    def one(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["other"]:
            raise ValueError(f"interpolation this test does not implement: {match[0]}")
        name = match["braced"] or match["named"]
        value = env.get(name)
        if match["op"] == ":-" and not value:
            return str(match["default"])
        if match["op"] == "-" and value is None:
            return str(match["default"])
        return value or ""

    return _VARIABLE.sub(one, text)


def _interpolated(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, env)
    if isinstance(value, list):
        return [_interpolated(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _interpolated(v, env) for k, v in value.items()}
    return value


def raw_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


def compose(env: Mapping[str, str]) -> dict[str, Any]:
    """The file with YAML merge keys applied and variables interpolated from `env`."""
    resolved: dict[str, Any] = _interpolated(raw_compose(), env)
    return resolved


def topology_env(topology: str | None) -> dict[str, str]:
    return {} if topology is None else {"GSP_TOPOLOGY": topology}


@dataclass(frozen=True)
class Dockerfile:
    instructions: list[tuple[str, str]]

    @classmethod
    def read(cls) -> Dockerfile:
        text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        joined = re.sub(r"\\\n", " ", "\n".join(lines))
        found = []
        for line in joined.splitlines():
            if line.strip():
                keyword, _, rest = line.strip().partition(" ")
                found.append((keyword.upper(), rest.strip()))
        return cls(found)

    def all(self, keyword: str) -> list[str]:
        return [rest for k, rest in self.instructions if k == keyword]

    def env(self) -> dict[str, str]:
        """ENV as the image has it; `$NAME` from this machine (PATH=/opt/gsp/bin:$PATH)."""
        pairs = [p for rest in self.all("ENV") for p in shlex.split(rest)]
        return {k: os.path.expandvars(v) for k, v in (p.split("=", 1) for p in pairs)}

    def arg_default(self, name: str) -> str:
        (default,) = [rest.split("=", 1)[1] for rest in self.all("ARG") if rest.startswith(name)]
        return default

    def entrypoint(self) -> list[str]:
        return self._exec_form("ENTRYPOINT")

    def command(self) -> list[str]:
        return self._exec_form("CMD")

    def _exec_form(self, keyword: str) -> list[str]:
        (raw,) = self.all(keyword)
        command: list[str] = json.loads(raw)  # the exec form: no shell in between
        return command


def node_command() -> list[str]:
    """What each Compose service runs instead of the image's `gsp-sandbox up`: one node."""
    command: list[str] = raw_compose()["x-node"]["entrypoint"]
    return command


def published_ports(service: Mapping[str, Any]) -> set[int]:
    """Host ports of `"8101:8101"` and `"8110-8113:8110-8113"`; each must equal its target."""
    ports: set[int] = set()
    for entry in service.get("ports", []):
        host, _, target = str(entry).partition(":")
        first, _, last = host.partition("-")
        assert host == target, f"{entry}: the host port must be the node's own port"
        ports.update(range(int(first), int(last or first) + 1))
    return ports


def served(topology: Topology, service: Mapping[str, Any]) -> list[str]:
    return select_nodes(topology, json.loads(service["environment"]["GSP_NODES"]))


def aliases(service: Mapping[str, Any]) -> list[str]:
    networks = service.get("networks") or {}
    default = networks.get("default") or {}
    found: list[str] = default.get("aliases", [])
    return found


# The topologies docker-compose.yml serves: one service per node of the Bắc Giang presets.
# The other presets (binh-dinh-2023, bac-kan-2022, vietnam) name nodes Compose has no
# service for; serving them waits for worker groups (issue 16, items 2 and 3).
COMPOSE_TOPOLOGIES = [name for name in shipped_topologies() if name.startswith("bac-giang-")]


@functools.cache  # loaded once: several tests ask for them once per Compose service
def topologies() -> tuple[Topology, ...]:
    return tuple(load_topology(name) for name in COMPOSE_TOPOLOGIES)


# -- the selection GSP_NODES accepts ------------------------------------------------------


def test_names_are_kept_in_order_once_and_selectors_expand_per_topology() -> None:
    t2022, t2023 = load_topology("bac-giang-2022"), load_topology("bac-giang-2023")
    assert select_nodes(t2022, ["tax", NGSP, "tax"]) == ["tax", NGSP]
    assert select_nodes(t2022, ["@app:generic"]) == []
    generic = [n for n, b in t2023.backends.items() if b.app == "generic"]
    assert len(generic) == 25
    assert select_nodes(t2023, ["@app:generic"]) == generic
    assert select_nodes(t2023, ["population", "@app:population"]) == ["population"]


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("nobody", "'nobody' is not a node of topology 'bac-giang-2022'"),
        ("@generic", "unknown selector '@generic'"),
        ("@app:", "names no app"),
        ("@app:generics", "no back-end app 'generics'"),
    ],
)
def test_a_wrong_entry_is_refused_naming_it(entry: str, says: str) -> None:
    with pytest.raises(SelectionError, match=re.escape(says)):
        select_nodes(load_topology("bac-giang-2022"), [entry])


@pytest.mark.processes
def test_node_process_refuses_a_wrong_entry_and_names_it() -> None:
    env = {**_base_env(), "GSP_NODES": '["populaton"]'}
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.runtime.node"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "'populaton' is not a node of topology 'bac-giang-2022'" in result.stderr
    assert "Traceback" not in result.stderr


# -- the health check ---------------------------------------------------------------------


class _Unavailable(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextlib.contextmanager
def _answering_503() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_probe_goes_to_loopback_when_the_node_listens_everywhere() -> None:
    assert healthcheck.probe_host("0.0.0.0") == "127.0.0.1"
    assert healthcheck.probe_host("::") == "127.0.0.1"
    assert healthcheck.probe_host("127.0.0.5") == "127.0.0.5"
    assert healthcheck.probe_host("::1") == "[::1]"


@pytest.mark.sockets
async def test_healthcheck_passes_only_when_every_served_node_answers_200(
    topology_2022: Topology, tmp_path: Path
) -> None:
    nodes = ["population", "e-office"]
    async with run_topology(topology_2022, tmp_path, nodes=nodes, wait=False) as running:
        ports = {n: running.addresses.port(n) for n in nodes}
        settings = SandboxSettings(topology="bac-giang-2022", nodes=nodes, ports=ports)
        probes = await asyncio.to_thread(healthcheck.check, settings)
        assert [(p.node, p.status) for p in probes] == [("population", 200), ("e-office", 200)]

        with _answering_503() as sick_port:
            closed = free_ports(["closed"])["closed"]
            ports = {**ports, "population": sick_port, "e-office": closed}
            settings = SandboxSettings(topology="bac-giang-2022", nodes=nodes, ports=ports)
            probes = await asyncio.to_thread(healthcheck.check, settings)
    by_node = {p.node: p for p in probes}
    assert by_node["population"].status == 503 and not by_node["population"].healthy
    assert by_node["e-office"].status is None and by_node["e-office"].detail


@pytest.mark.parametrize(
    ("nodes", "code", "says"),
    [
        ('["@app:generic"]', 0, "healthy: @app:generic selects no node of bac-giang-2022"),
        ('["populaton"]', 1, "unhealthy: GSP_NODES: 'populaton' is not a node"),
        ("[]", 1, "unhealthy: GSP_NODES names no node"),
        ('["population"]', 1, "unhealthy: population"),  # nothing listens on its port
    ],
)
def test_healthcheck_exit_code_and_what_it_says(
    nodes: str, code: int, says: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("GSP_TOPOLOGY", "bac-giang-2022")
    monkeypatch.setenv("GSP_NODES", nodes)
    monkeypatch.setenv("GSP_PORTS", json.dumps(free_ports(["population"])))
    assert healthcheck.main() == code
    out = capsys.readouterr()
    assert says in out.out + out.err


# -- (a) the file is valid Compose --------------------------------------------------------


def _compose_clis() -> list[list[str]]:
    found = []
    if shutil.which("docker") and _runs(["docker", "compose", "version"]):
        found.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    return found


def _runs(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True, timeout=60).returncode == 0


@pytest.mark.processes
@pytest.mark.parametrize("topology", [None, "bac-giang-2023"])
def test_compose_itself_accepts_the_file_and_interpolates_as_this_test_does(
    topology: str | None,
) -> None:
    clis = _compose_clis()
    if not clis:
        pytest.skip("no Compose CLI: `make tools` installs Debian's docker-compose")
    expected = compose(topology_env(topology))["services"]
    for cli in clis:
        result = subprocess.run(
            [*cli, "--file", str(COMPOSE_FILE), "config"],
            env={**_base_env(), **topology_env(topology)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        services = yaml.safe_load(result.stdout)["services"]
        assert set(services) == set(expected)
        for name, service in services.items():
            assert service["environment"] == expected[name]["environment"], (cli, name)


def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_errors(document: Mapping[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _schema_validator().iter_errors(document)
    ]


def test_the_file_matches_the_compose_specification_schema() -> None:
    assert _schema_errors(raw_compose()) == []
    assert _schema_errors(compose({})) == []


def test_the_schema_refuses_what_compose_would() -> None:
    # The same check must fail on a broken file, or passing it above proves nothing.
    broken = copy.deepcopy(compose({}))
    broken["services"]["ngsp"]["depends_on"]["population"]["condition"] = "healthy"
    broken["services"]["tax"]["healthcheck"] = {**broken["services"]["tax"]["healthcheck"]}
    broken["services"]["tax"]["healthcheck"]["every"] = "10s"
    errors = _schema_errors(broken)
    assert any(e.startswith("services/ngsp/depends_on:") and "healthy" in e for e in errors)
    assert any(e.startswith("services/tax/healthcheck") and "every" in e for e in errors)


# -- (a) the file fits the topologies -----------------------------------------------------


def test_every_service_is_health_checked_by_the_node_health_check() -> None:
    for name, service in compose({})["services"].items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"] == ["CMD", "python", "-m", "sandbox.runtime.healthcheck"], name
        for field in ("interval", "timeout", "start_period"):
            assert re.fullmatch(r"\d+(ms|s|m)", check[field]), (name, field)
        assert int(check["retries"]) >= 1


def test_start_order_waits_for_health_and_follows_the_topology() -> None:
    services = compose({})["services"]
    for name, service in services.items():
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert how == {"condition": "service_healthy"}, (name, dependency)
    for topology in topologies():
        serving = _serving(topology, services)
        for platform in topology.platforms:
            needed = {serving[s.backend] for s in topology.services_at(platform) if s.backend}
            needed |= {
                serving[m.backend]
                for m in topology.mailboxes
                if m.platform == platform and m.backend
            }
            upstream = topology.platforms[platform].upstream
            if upstream is not None:
                needed.add(serving[upstream.platform])
            assert needed <= set(services[serving[platform]].get("depends_on", {})), (
                topology.name,
                platform,
                needed - set(services[serving[platform]].get("depends_on", {})),
            )


def _serving(topology: Topology, services: Mapping[str, Any]) -> dict[str, str]:
    """node -> the one service serving it under this topology."""
    serving: dict[str, str] = {}
    for name, service in services.items():
        for node in served(topology, service):
            assert node not in serving, f"{node} served by {serving[node]} and {name}"
            serving[node] = name
    return serving


@pytest.mark.parametrize("topology_name", COMPOSE_TOPOLOGIES)
def test_every_node_is_served_once_and_reachable_by_its_name(topology_name: str) -> None:
    topology = load_topology(topology_name)
    services = compose(topology_env(topology_name))["services"]
    serving = _serving(topology, services)
    assert set(serving) == {*topology.platforms, *topology.backends}
    # GSP_HOST_PATTERN={node}: a node is reached at a host of its own name, which Compose's
    # DNS resolves to the service of that name or to the service with that alias.
    for node, name in serving.items():
        assert node == name or node in aliases(services[name]), (node, name)
    for name, service in services.items():
        assert service["environment"]["GSP_TOPOLOGY"] == topology_name
        stale = set(aliases(service)) - {n for t in topologies() for n in served(t, service)}
        assert not stale, f"{name}: aliases for nodes it never serves: {stale}"


def test_default_topology_is_the_default_and_one_variable_switches_it() -> None:
    for environment in ({}, {"GSP_TOPOLOGY": ""}):
        for service in compose(environment)["services"].values():
            assert service["environment"]["GSP_TOPOLOGY"] == DEFAULT_TOPOLOGY
    switched = compose({"GSP_TOPOLOGY": "bac-giang-2023"})["services"]
    assert {s["environment"]["GSP_TOPOLOGY"] for s in switched.values()} == {"bac-giang-2023"}


def test_published_ports_are_the_ports_of_the_nodes_each_service_serves() -> None:
    services = compose({})["services"]
    all_ports: list[int] = []
    for name, service in services.items():
        expected = set()
        for topology in topologies():
            book = AddressBook(topology)
            # every node's port, and a platform's HTTPS port beside it
            expected |= {p for n, p in book.all_ports() if n in served(topology, service)}
        assert published_ports(service) == expected, name
        all_ports += published_ports(service)
    assert len(all_ports) == len(set(all_ports)), "a host port published twice"


def test_the_docs_table_lists_the_published_ports() -> None:
    # The table moved with README's Docker section to the containers page.
    page = (ROOT / "docs" / "operating" / "containers.md").read_text(encoding="utf-8")
    section = page.split("# Docker\n", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[int]] = {}
    for row in re.findall(r"^\| `([a-z0-9-]+)` \|.*\| ([0-9–, -]+) \|$", section, re.M):
        name, cell = row
        ports: set[int] = set()
        for part in cell.split(","):
            first, _, last = part.strip().replace("–", "-").partition("-")
            ports.update(range(int(first), int(last or first) + 1))
        table[name] = ports
    services = compose({})["services"]
    assert table == {name: published_ports(s) for name, s in services.items()}


def test_every_service_keeps_its_data_in_the_named_volume() -> None:
    document = compose({})
    data_dir = Dockerfile.read().env()["GSP_DATA_DIR"]
    for name, service in document["services"].items():
        mounts = [str(v).split(":") for v in service.get("volumes", [])]
        assert [m for m in mounts if m[1:] == [data_dir]] == [["gsp-data", data_dir]], name
    assert "gsp-data" in document["volumes"]


# -- (a) the image ------------------------------------------------------------------------


def test_the_image_runs_the_node_process_as_a_non_root_user() -> None:
    dockerfile = Dockerfile.read()
    assert dockerfile.all("FROM") == ["${BASE_IMAGE}"]
    assert dockerfile.arg_default("BASE_IMAGE") == "python:3.11-slim"
    # the whole sandbox by default (`docker run gsp-sandbox up …`), a node under Compose
    assert dockerfile.entrypoint() + dockerfile.command() == ["gsp-sandbox", "up"]
    assert node_command() == ["python", "-m", "sandbox.runtime.node"]
    keywords = [k for k, _ in dockerfile.instructions]
    users = dockerfile.all("USER")
    assert users and users[-1] not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    env = dockerfile.env()
    assert env["GSP_BIND_HOST"] == "0.0.0.0"
    assert compose({})["services"][LGSP]["environment"]["GSP_HOST_PATTERN"] == "{node}"


def test_the_proxy_ca_is_a_build_secret_never_a_layer() -> None:
    dockerfile = Dockerfile.read()
    (pip_step,) = [r for r in dockerfile.all("RUN") if "pip install -r" in r]
    assert pip_step.startswith("--mount=type=secret,id=pip-ca ")
    assert "PIP_CERT=/run/secrets/pip-ca" in pip_step
    assert not [c for c in dockerfile.all("COPY") if ".pem" in c or ".crt" in c]


def test_the_build_fetches_only_from_pypi() -> None:
    for command in Dockerfile.read().all("RUN"):
        assert not re.search(r"https?://|\b(curl|wget|git)\b", command), command
        if "pip" in command:
            assert not re.search(r"--(extra-)?index-url|\s-i\s|--find-links|git\+", command)
    assert not Dockerfile.read().all("ADD"), "ADD can fetch URLs; COPY the build context"


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore as Docker reads it, as far as this file uses it: a pattern matches a path
    from the context's root (`**/` any number of folders before it), and an excluded folder
    excludes everything in it."""
    parts = PurePosixPath(path).parts
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        for pattern in patterns:
            if pattern.startswith("**/"):
                if fnmatch.fnmatchcase(parts[depth - 1], pattern.removeprefix("**/")):
                    return True
            elif fnmatch.fnmatchcase(prefix, pattern):
                return True
    return False


def test_the_image_gets_every_package_and_no_local_state() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for state in (".git", ".venv", "data", "data/ngsp.audit.sqlite3", "sandbox/__pycache__"):
        assert _ignored(state, patterns), state
    copied = {src for rest in Dockerfile.read().all("COPY") for src in shlex.split(rest)[:-1]}
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is copied but .dockerignore'd"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages <= copied, f"not copied into the image: {packages - copied}"


# -- (b) the services as local processes --------------------------------------------------


def _base_env() -> dict[str, str]:
    """What a container has besides its image's and its service's variables."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep}


def _local(argv: list[str]) -> list[str]:
    # `python` in the image is the interpreter that has the project installed: here, ours.
    return [sys.executable, *argv[1:]] if argv and argv[0] == "python" else argv


def _layers(services: Mapping[str, Any]) -> list[list[str]]:
    """Services in the order Compose starts them: each layer after its dependencies."""
    started: set[str] = set()
    layers = []
    while len(started) < len(services):
        layer = [
            name
            for name, service in services.items()
            if name not in started and set(service.get("depends_on", {})) <= started
        ]
        assert layer, f"dependency cycle among {set(services) - started}"
        layers.append(layer)
        started.update(layer)
    return layers


@dataclass
class Container:
    """A compose service run as a local process: the image's entrypoint and environment."""

    name: str
    env: dict[str, str]
    command: list[str]
    healthcheck: list[str]
    log: Path
    process: asyncio.subprocess.Process | None = None
    last_check: str = ""

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                env=self.env,
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group, killed as one in the end
            )

    async def wait_healthy(self) -> None:
        """Run the service's health check until it passes, as Docker does, only faster."""
        kind, *argv = self.healthcheck
        assert kind == "CMD", f"{self.name}: exec-form health checks only"
        assert self.process is not None
        try:
            async with asyncio.timeout(START_WITHIN):
                await self._until_healthy(argv)
        except TimeoutError:
            raise AssertionError(
                f"{self.name} not healthy: {self.last_check}\n{self.tail()}"
            ) from None

    async def _until_healthy(self, argv: list[str]) -> None:
        assert self.process is not None
        while True:
            if self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited: {self.tail()}")
            check = await asyncio.create_subprocess_exec(
                *_local(argv),
                env=self.env,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await check.communicate()
            if check.returncode == 0:
                return
            self.last_check = output.decode(errors="replace")
            await asyncio.sleep(0.25)

    async def stop(self) -> int | None:
        """SIGTERM to its process group, SIGKILL if it lingers; the exit code of SIGTERM."""
        if self.process is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_WITHIN):
                code = await self.process.wait()
        except TimeoutError:
            code = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything it left behind
        await self.process.wait()
        return code

    def orphans(self) -> bool:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])


def containers(topology_name: str, tmp: Path) -> list[list[Container]]:
    """Every service of the file under GSP_TOPOLOGY=topology_name, layered in start order.

    As in the containers, except: data in a temporary directory (all services share it, as
    they share the volume), listening on loopback, every host name mapped to loopback and
    every node's port remapped to a free one.
    """
    topology = load_topology(topology_name)
    dockerfile = Dockerfile.read()
    services = compose(topology_env(topology_name))["services"]
    # one call: every port distinct, the platforms' HTTPS ones too
    found = free_ports(
        [*topology.platforms, *topology.backends, *(f"{p}:tls" for p in topology.platforms)]
    )
    ports = {n: found[n] for n in [*topology.platforms, *topology.backends]}
    tls_ports = {p: found[f"{p}:tls"] for p in topology.platforms}
    overrides = {
        "GSP_DATA_DIR": str(tmp / "data"),
        "GSP_BIND_HOST": "127.0.0.1",
        "GSP_HOST_PATTERN": "127.0.0.1",
        "GSP_PORTS": json.dumps(ports),
        "GSP_TLS_PORTS": json.dumps(tls_ports),
    }
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    layers = []
    for layer in _layers(services):
        row = []
        for name in layer:
            service = services[name]
            env = {**_base_env(), **dockerfile.env(), **service["environment"], **overrides}
            command = list(service["entrypoint"]) + list(service.get("command") or [])
            row.append(
                Container(
                    name,
                    {k: str(v) for k, v in env.items()},
                    _local(command),
                    service["healthcheck"]["test"],
                    tmp / "logs" / f"{name}.log",
                )
            )
        layers.append(row)
    return layers


@contextlib.asynccontextmanager
async def compose_up(topology_name: str, tmp: Path) -> AsyncIterator[dict[str, Container]]:
    layers = containers(topology_name, tmp)
    running: dict[str, Container] = {}
    try:
        for layer in layers:
            for container in layer:
                running[container.name] = container
                await container.start()
            await asyncio.gather(*(c.wait_healthy() for c in layer))
        yield running
    finally:
        codes = await asyncio.gather(*(c.stop() for c in running.values()))
        left = [c.name for c in running.values() if c.orphans()]
        assert not left, f"processes left behind by {left}"
        unclean = {c.name: code for c, code in zip(running.values(), codes, strict=True) if code}
        assert not unclean, f"did not stop cleanly on SIGTERM: {unclean}"


async def _report(client: httpx.AsyncClient, base: str) -> TopologyReport:
    response = await client.get(f"{base}/topology")
    response.raise_for_status()
    return TopologyReport.model_validate_json(response.content)


@pytest.mark.processes
@pytest.mark.parametrize(
    ("topology_name", "national", "intra"),
    [("bac-giang-2022", 9, 3), ("bac-giang-2023", 13, 26)],
)
async def test_every_service_as_a_process_brings_the_topology_up(
    topology_name: str, national: int, intra: int, tmp_path: Path
) -> None:
    topology = load_topology(topology_name)
    async with (
        compose_up(topology_name, tmp_path) as running,
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
        assert report.summary == (
            f"LGSP bac-giang: {national} services connected through NGSP, {intra} intra-province"
        )
        national_report = await _report(client, ngsp)
        assert national_report.national.reachable == national
        assert national_report.downstream is not None
        assert national_report.downstream.reachable == 1

        # and a routed call crosses three processes: LGSP -> NGSP -> population
        citizen = citizens(topology.seed, 10)[0]
        response = await client.get(
            f"{lgsp}/apiCSDLDC/1.0/congDan",
            params={"soDinhDanh": citizen.so_dinh_danh},
            headers=await bearer(client, lgsp, topology, MOTCUA),
        )
        assert response.status_code == 200, response.text
        assert full_name(response.json()) == citizen.ho_ten

        # and over HTTPS: the platforms share the volume, so one CA (made by whichever
        # started first) issued both certificates, each naming its compose host name
        ca = tmp_path / "data" / "pki" / "ca.pem"
        tls_ports = json.loads(running[LGSP].env["GSP_TLS_PORTS"])
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
            for platform in topology.platforms:
                report = await _report(secure, f"https://127.0.0.1:{tls_ports[platform]}")
                assert report.urls is not None and report.urls.https == (
                    f"https://127.0.0.1:{tls_ports[platform]}"
                )
    for platform in topology.platforms:
        assert (tmp_path / "data" / f"{platform}.audit.sqlite3").exists()
        assert platform in _dns_names(tmp_path / "data" / "pki" / "tls" / f"{platform}.pem")


def _dns_names(pem: Path) -> list[str]:
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(pem.read_bytes())
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return [str(name) for name in san.value.get_values_for_type(x509.DNSName)]
