# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOPOLOGY ?= bac-giang-2022
DATA_DIR ?= data
# Added to every port: `make run PORT_OFFSET=1000 DATA_DIR=data-2` runs a second sandbox.
PORT_OFFSET ?= 0

.PHONY: run test test-fast lint install install-test tools bench

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
# `playwright install`); Debian's packages, installed where missing.
tools:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@command -v docker-compose >/dev/null || { apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends docker-compose; }
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# Every tier (what CI runs). The tiers are pytest markers (pyproject.toml): `sockets` (servers
# on loopback in the test's process), `processes` (child processes), `browser`, `load`.
test: install-test lint tools
	$(BIN)/python -m pytest

# The unit tier only: tests that start no server and no process, the ones without a tier
# marker (tests/tiers.py fails a test that starts either without its marker). About a minute.
test-fast: install-test
	$(BIN)/python -m pytest -m "not (sockets or processes or browser or load)"

bench: install tools
	$(BIN)/python -m bench.routed_path --json bench-result.json
	$(BIN)/python -m bench.startup --json bench-startup.json
