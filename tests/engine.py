"""A real container engine for the `containers` test tier: podman from Debian's packages.

What it takes on a machine with no Docker engine and no Docker Hub (CI here, see README,
"Docker"): tests/containers/containers.conf (CONTAINERS_CONF) for every podman command; a
base image with python3, the official one if the engine holds it, else one made from
Debian's packages by mmdebstrap (once: it is kept and reused); the project's image built
with the CA bundle this machine's pip trusts as a build secret; and podman's Docker-API
socket for docker-compose and the Testcontainers libraries. `make tools-containers`
installs podman, runc, mmdebstrap and docker-compose.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "tests" / "containers" / "containers.conf"
OFFICIAL_BASE = "docker.io/library/python:3.11-slim"
DEBIAN_BASE = "localhost/gsp-base:bookworm"
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
IMAGE = "localhost/gsp-sandbox:test"
# Bounds so that a broken step fails instead of hanging; never asserted as a speed.
BUILD_WITHIN = 900.0
COMMAND_WITHIN = 300.0
TOOLS = ("podman", "runc", "mmdebstrap", "docker-compose")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def engine_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONF)}


def podman(*args: str, within: float = COMMAND_WITHIN, check: bool = True) -> str:
    done = subprocess.run(
        ["podman", *args],
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=within,
        stdin=subprocess.DEVNULL,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done.stdout


def image_exists(name: str) -> bool:
    found = subprocess.run(["podman", "image", "exists", name], env=engine_env(), check=False)
    return found.returncode == 0


def base_image(workdir: Path) -> str:
    """A base image with python3: the official one if here, else Debian's from packages."""
    for name in (OFFICIAL_BASE, DEBIAN_BASE):
        if image_exists(name):
            return name
    tarball = workdir / "base.tar"
    subprocess.run(
        ["mmdebstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", tarball],
        check=True,
        capture_output=True,
        timeout=BUILD_WITHIN,
    )
    podman("import", str(tarball), DEBIAN_BASE)
    tarball.unlink()
    return DEBIAN_BASE


def pip_ca_bundle() -> Path | None:
    """The CA bundle this machine's pip trusts (a TLS-intercepting proxy's, here)."""
    if os.environ.get("PIP_CERT"):
        return Path(os.environ["PIP_CERT"])
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        path = Path(value.strip().strip("'\""))
        if key.endswith(".cert") and path.is_file():
            return path
    return None


def build_image(base: str, tag: str = IMAGE) -> str:
    """The project's image on `base`; the CA bundle goes in as a build secret only."""
    args = ["build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag]
    bundle = pip_ca_bundle()
    if bundle is not None:
        args += ["--secret", f"id=pip-ca,src={bundle}"]
    before = podman("image", "inspect", "--format", "{{.Id}}", tag, check=False).strip()
    podman(*args, str(ROOT), within=BUILD_WITHIN)
    if before and before != podman("image", "inspect", "--format", "{{.Id}}", tag).strip():
        podman("rmi", before, check=False)  # the previous build, untagged: not kept each run
    return tag


def image_size_bytes(tag: str) -> int:
    (found,) = json.loads(podman("image", "inspect", tag))
    size: int = found["Size"]
    return size


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port_block(first: int, count: int) -> int:
    """`count` consecutive free host ports from `first`, or from 1000, 2000, … above it."""
    for start in range(first, 65000 - count, 1000):
        if all(_free(p) for p in range(start, start + count)):
            return start
    raise AssertionError(f"no {count} consecutive free ports from {first}")


@contextlib.contextmanager
def docker_api(workdir: Path, within: float = 60.0) -> Iterator[str]:
    """podman's Docker-API service on a socket of its own; yields its DOCKER_HOST."""
    sock = workdir / "podman.sock"
    log = (workdir / "podman-service.log").open("wb")
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{sock}"],
        env=engine_env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + within
        transport = httpx.HTTPTransport(uds=str(sock))
        with httpx.Client(transport=transport, base_url="http://podman") as client:
            while True:
                assert service.poll() is None, (workdir / "podman-service.log").read_text()
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/_ping").text == "OK":
                        break
                assert time.monotonic() < deadline, "podman system service did not answer"
                time.sleep(0.2)
        yield f"unix://{sock}"
    finally:
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        log.close()


def compose_statuses(project: str) -> dict[str, str]:
    """Each service of a Compose project (v1 names its container PROJECT_SERVICE_1) and its
    container's status: "Up 5 seconds (starting)", "… (healthy)"."""
    listed = podman(
        "ps",
        "--filter",
        f"label=com.docker.compose.project={project}",
        "--format",
        "{{.Names}}\t{{.Status}}",
    )
    statuses = dict(line.split("\t", 1) for line in listed.splitlines() if "\t" in line)
    return {name[len(project) + 1 :].rsplit("_", 1)[0]: s for name, s in statuses.items()}


def healthcheck(project: str, service: str) -> None:
    """Run a service's health check once: without systemd podman never runs it by itself."""
    podman("healthcheck", "run", f"{project}_{service}_1", check=False)


def leftovers(project: str) -> dict[str, list[str]]:
    """Containers, volumes and networks a Compose project left on the engine."""
    label = f"label=com.docker.compose.project={project}"
    found = {
        "containers": podman("ps", "-a", "--filter", label, "--format", "{{.Names}}"),
        "volumes": podman("volume", "ls", "--filter", label, "--format", "{{.Name}}"),
        "networks": podman("network", "ls", "--format", "{{.Name}}"),
    }
    named = {kind: [n for n in text.split() if n] for kind, text in found.items()}
    named["networks"] = [n for n in named["networks"] if n.startswith(f"{project}_")]
    return named
