# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOPOLOGY ?= bac-giang-2022
DATA_DIR ?= data
# Added to every port: `make run PORT_OFFSET=1000 DATA_DIR=data-2` runs a second sandbox.
PORT_OFFSET ?= 0

.PHONY: run test test-fast lint docs install install-test tools tools-containers bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/gsp-sandbox up --topology $(TOPOLOGY) --data-dir $(DATA_DIR) --port-offset $(PORT_OFFSET)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts apikit gateway lgsp ngsp services sandbox

# wrk drives the benchmark's smoke test, docker-compose checks docker-compose.yml (no engine
# needed), chromium runs the dashboard test under Playwright (the system browser, not
# `playwright install`), the JDK compiles and runs the Java HTTPS client test; Debian's
# packages, installed where missing.
tools:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@command -v docker-compose >/dev/null || { apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends docker-compose; }
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	@command -v javac >/dev/null || { apt-get update -qq && apt-get install -y -qq \
	  --no-install-recommends openjdk-17-jdk-headless; }

# The containers tier (tests/test_containers.py) on a real engine, Debian's podman: runc (crun
# refuses this kind of host's cgroups), netavark and aardvark-dns (networks and Compose's
# names), iptables (published ports), mmdebstrap (a base image from packages where no registry
# has one), docker-compose; node and npm for the Node Testcontainers check.
CONTAINER_TOOLS := podman runc mmdebstrap docker-compose iptables
tools-containers:
	@for tool in $(CONTAINER_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	[ -z "$$missing" ] || { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	  podman runc netavark aardvark-dns iptables catatonit uidmap slirp4netns fuse-overlayfs \
	  mmdebstrap docker-compose; }
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }

# The docs site first: a broken link or a page left out of the nav fails the build.
docs: install-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Every tier (what CI runs). The tiers are pytest markers (pyproject.toml): `sockets` (servers
# on loopback in the test's process), `processes` (child processes), `browser`, `contention`
# (under CPU burners), `containers` (a real engine).
test: install-test lint docs tools tools-containers
	$(BIN)/python -m pytest

# The unit tier only: tests that start no server and no process, the ones without a tier
# marker (tests/tiers.py fails a test that starts either without its marker). About a minute.
test-fast: install-test
	$(BIN)/python -m pytest -m "not (sockets or processes or browser or contention or containers)"

bench: install tools
	$(BIN)/python -m bench.routed_path --json bench-result.json
	$(BIN)/python -m bench.startup --json bench-startup.json
