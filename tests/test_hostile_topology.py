"""Hostile topology files: every way in (validate, up, a node process) answers in one line.

A binary file, a file nested thousands deep, a few hundred bytes of aliases standing for a
billion values, a file far too large: each used to end in a traceback (UnicodeDecodeError,
RecursionError inside PyYAML) or a hang. Each is run through the real entry points in a
subprocess, as a person or a container would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.topology.bounded_yaml import MAX_BYTES, MAX_DEPTH, MAX_NODES

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 16)  # an image, an archive, a wrong upload


def _deep_flow(path: Path) -> None:
    path.write_text("[" * 20_000 + "]" * 20_000, encoding="utf-8")


def _deep_mapping(path: Path) -> None:
    path.write_text("platforms: " + "{a: " * 5_000 + "x" + "}" * 5_000, encoding="utf-8")


def _deep_block(path: Path) -> None:
    path.write_text("".join(" " * i + "a:\n" for i in range(1_000)), encoding="utf-8")


def _laughs(path: Path) -> None:
    # Nine levels of ten aliases each: 10^9 values from under 400 bytes.
    lines = ["name: laughs", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    lines.append("services: *l9")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _huge(path: Path) -> None:
    path.write_text("name: huge\n" + "#" * (MAX_BYTES + 1) + "\n", encoding="utf-8")


def _control_character(path: Path) -> None:
    path.write_bytes(b"name: x\x00y\n")


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "binary": (_binary, "not UTF-8 text"),
    "deep-flow": (_deep_flow, f"nested more than {MAX_DEPTH} levels deep"),
    "deep-mapping": (_deep_mapping, f"nested more than {MAX_DEPTH} levels deep"),
    "deep-block": (_deep_block, f"nested more than {MAX_DEPTH} levels deep"),
    "laughs": (_laughs, f"more than {MAX_NODES:,} values once aliases are expanded"),
    "huge": (_huge, f"larger than {MAX_BYTES:,} bytes"),
    "control-character": (_control_character, "not valid YAML: unacceptable character"),
}


def _one_line_naming(output: str, path: Path, problem: str) -> None:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert str(path) in lines[0] and problem in lines[0], lines[0]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_validate_names_the_file_and_the_problem_in_one_line(tmp_path: Path, kind: str) -> None:
    write, problem = HOSTILE[kind]
    path = tmp_path / f"{kind}.yaml"
    write(path)
    result = run_python(["-m", "sandbox.cli", "validate", str(path)], cwd=ROOT)
    assert result.returncode != 0
    _one_line_naming(result.stdout + result.stderr, path, problem)


@pytest.mark.parametrize("kind", ["binary", "deep-flow"])
def test_up_refuses_a_hostile_file_before_starting_anything(tmp_path: Path, kind: str) -> None:
    write, problem = HOSTILE[kind]
    path = tmp_path / f"{kind}.yaml"
    write(path)
    data = tmp_path / "data"
    # Refused before any port is bound: the offset only keeps a mistake off the defaults.
    command = ["-m", "sandbox.cli", "up", "--topology", str(path), "--port-offset", "4000"]
    result = run_python([*command, "--data-dir", str(data)], cwd=ROOT)
    assert result.returncode != 0
    _one_line_naming(result.stdout + result.stderr, path, problem)
    assert not (data / "logs").exists()  # no node was started


@pytest.mark.parametrize(
    ("module", "kind"),
    [
        ("sandbox.runtime.node", "binary"),
        ("sandbox.runtime.zygote", "deep-block"),
        ("sandbox.runtime.healthcheck", "laughs"),
    ],
)
def test_platform_processes_reading_gsp_topology_exit_with_one_line(
    tmp_path: Path, module: str, kind: str
) -> None:
    write, problem = HOSTILE[kind]
    path = tmp_path / f"{kind}.yaml"
    write(path)
    env = {
        **os.environ,
        "GSP_TOPOLOGY": str(path),
        "GSP_NODES": json.dumps(["lgsp-bac-giang"]),
        "GSP_DATA_DIR": str(tmp_path / "data"),
    }
    result = run_python(["-m", module], cwd=ROOT, env=env)
    assert result.returncode != 0
    _one_line_naming(result.stdout + result.stderr, path, problem)


def test_an_extends_chain_is_bounded_too(tmp_path: Path) -> None:
    for i in range(40):
        (tmp_path / f"t{i}.yaml").write_text(f"extends: t{i + 1}.yaml\n", encoding="utf-8")
    result = run_python(["-m", "sandbox.cli", "validate", str(tmp_path / "t0.yaml")], cwd=ROOT)
    assert result.returncode != 0
    _one_line_naming(result.stdout + result.stderr, tmp_path / "t16.yaml", "files deep")
