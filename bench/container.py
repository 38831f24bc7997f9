"""The sandbox's image on a real engine: its size, and `run … up` until the LGSP is healthy.

    python -m bench.container [--runs 3] [--json bench-container.json]

Builds the image as the containers tier does (tests/engine.py: podman, the official Python
base if the engine has it, else Debian's from packages; the pip CA bundle as a build secret),
then starts the whole sandbox in one container `--runs` times, each on a fresh volume, and
times `podman run … up` until the LGSP's /healthz answers 200, which it does once every node
is healthy (GSP_HEALTHZ_WAITS_FOR_START_UP in the image). Prints the figures; asserts none.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from tests import engine

HOST_PORTS_FROM = 14000
LGSP_PORT = 8001
FIRST_PORT, LAST_PORT = 8000, 8301  # bac-giang-2022's nodes
WITHIN = 300.0


@dataclass
class Figures:
    base_image: str
    image_mb: float
    healthy_seconds: list[float]

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.healthy_seconds)


def time_to_healthy(image: str) -> float:
    shift = engine.free_port_block(HOST_PORTS_FROM, LAST_PORT - FIRST_PORT + 1) - FIRST_PORT
    volume = f"gsp-bench-{uuid.uuid4().hex[:8]}"
    healthz = f"http://127.0.0.1:{LGSP_PORT + shift}/healthz"
    started = time.monotonic()
    container = engine.podman(
        "run",
        "-d",
        "--rm",
        "-p",
        f"{FIRST_PORT + shift}-{LAST_PORT + shift}:{FIRST_PORT}-{LAST_PORT}",
        "-v",
        f"{volume}:/data",
        image,
        "up",
    ).strip()
    try:
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                try:
                    if client.get(healthz).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                if time.monotonic() - started > WITHIN:
                    raise SystemExit(f"{healthz} not healthy within {WITHIN:g} s")
                time.sleep(0.1)
    finally:
        engine.podman("rm", "-f", "--time", "10", container, check=False)
        engine.podman("volume", "rm", "-f", volume, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    missing = engine.missing_tools()
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: `make tools-containers` installs them")
    with tempfile.TemporaryDirectory() as work:
        base = engine.base_image(Path(work))
    image = engine.build_image(base)
    size = engine.image_size_bytes(image)
    figures = Figures(base, round(size / 1e6, 1), [])
    for run in range(args.runs):
        seconds = time_to_healthy(image)
        figures.healthy_seconds.append(round(seconds, 2))
        print(f"run {run + 1}: `run … up` to a healthy LGSP in {seconds:.1f} s", flush=True)
    print(f"image {image} on {base}: {figures.image_mb:.0f} MB")
    print(f"start-up to healthy: median {figures.median_seconds:.1f} s of {args.runs} runs")
    if args.json:
        result = {**asdict(figures), "median_seconds": figures.median_seconds}
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
