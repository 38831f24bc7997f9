"""The layers hold: contracts/ at the bottom, the engine beneath the tiers, no import cycles.

The import graph is read from the source with `ast`, every import statement counted, those
inside functions and under `if TYPE_CHECKING:` too: a lazy import hides a dependency from the
reader, not from the design. Imports by name at run time (`services.catalog` loads back ends
with importlib) are not statements and are not in the graph; the import-alone test runs them
where their module runs them.
"""

from __future__ import annotations

import ast
import graphlib
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each first-party package may import besides itself, bottom layer first. contracts/
# holds the shapes every party agrees on; apikit/ the HTTP plumbing over them; the engine
# (gateway/) and the sample back ends (services/) stand side by side, neither knowing the
# other; each tier (lgsp/, ngsp/) is an app over the engine; sandbox/ hosts them all.
ALLOWED: dict[str, frozenset[str]] = {
    "contracts": frozenset(),
    "apikit": frozenset({"contracts"}),
    "gateway": frozenset({"contracts", "apikit"}),
    "services": frozenset({"contracts", "apikit"}),
    "lgsp": frozenset({"contracts", "apikit", "gateway"}),
    "ngsp": frozenset({"contracts", "apikit", "gateway"}),
    "sandbox": frozenset({"contracts", "apikit", "gateway", "services", "lgsp", "ngsp"}),
}
FIRST_PARTY = tuple(ALLOWED)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the first-party module it imports
    where: str  # file:line of the statement

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target}"


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of these packages by dotted name (a package by its __init__)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path) -> list[str]:
    """The dotted names an import statement loads: `from a import b` loads a.b when b is a
    module, else a."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: counted from the importing module's package
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = package[: len(package) - node.level + 1]
        stem = ".".join([*base, node.module] if node.module else base)
    else:
        stem = node.module or ""
    return [stem, *(f"{stem}.{alias.name}" for alias in node.names)]


def _innermost_module(name: str, modules: Mapping[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def first_party_imports(modules: Mapping[str, Path]) -> list[Import]:
    edges: set[Import] = set()
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{node.lineno}"
            names = _targets(node, module, path)
            if isinstance(node, ast.ImportFrom):
                # `from a import b`: b if it is a module, else the module a (once).
                stem, members = names[0], names[1:]
                found = {m for m in members if m in modules} or {_innermost_module(stem, modules)}
            else:
                found = {_innermost_module(name, modules) for name in names}
            edges.update(Import(module, t, where) for t in found if t and t != module)
    return sorted(edges, key=lambda e: (e.source, e.target, e.where))


def third_party_roots(modules: Mapping[str, Path], first_party: Iterable[str]) -> list[str]:
    """The top-level third-party modules the first-party code imports (absolute imports)."""
    ours = set(first_party)
    roots: set[str] = set()
    for path in modules.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                roots.add(node.module.partition(".")[0])
    return sorted(roots - ours - set(sys.stdlib_module_names) - {"__future__"})


def layer_violations(edges: Iterable[Import], allowed: Mapping[str, frozenset[str]]) -> list[str]:
    out = []
    for edge in edges:
        source, target = edge.source.partition(".")[0], edge.target.partition(".")[0]
        if source != target and target not in allowed[source]:
            out.append(str(edge))
    return out


def import_cycle(edges: Iterable[Import]) -> list[str] | None:
    """One cycle of the module graph (its first module repeated at the end), or None."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        cycle: list[str] = error.args[1]
        return cycle
    return None


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return module_files(ROOT, FIRST_PARTY)


@pytest.fixture(scope="module")
def edges(modules: dict[str, Path]) -> list[Import]:
    return first_party_imports(modules)


def test_the_layer_table_names_every_package_pyproject_ships() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(p.removesuffix("*") for p in shipped) == sorted(ALLOWED)


def test_the_graph_sees_module_level_and_function_level_imports(edges: list[Import]) -> None:
    pairs = {(e.source, e.target) for e in edges}
    assert ("sandbox.export.contracts", "lgsp.app") in pairs  # at module level
    assert ("sandbox.cli.export", "sandbox.export.contracts") in pairs  # inside a function
    assert ("contracts.registry", "contracts.services.population") in pairs  # `from a import b`


@pytest.mark.parametrize("package", FIRST_PARTY)
def test_each_package_imports_only_the_layers_beneath_it(package: str, edges: list[Import]) -> None:
    own = [e for e in edges if e.source.partition(".")[0] == package]
    assert own, f"no imports found in {package}/"
    assert layer_violations(own, ALLOWED) == []


def test_contracts_is_the_bottom_layer(edges: list[Import]) -> None:
    reaching_up = [
        str(e)
        for e in edges
        if e.source.startswith("contracts") and e.target.split(".")[0] != "contracts"
    ]
    assert reaching_up == []


def test_the_engine_knows_neither_the_sandbox_nor_the_sample_back_ends(
    edges: list[Import],
) -> None:
    wrong = [
        str(e)
        for e in edges
        if e.source.startswith("gateway") and e.target.split(".")[0] in {"sandbox", "services"}
    ]
    assert wrong == []


def test_the_first_party_import_graph_has_no_cycle(edges: list[Import]) -> None:
    cycle = import_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_catch_a_cycle_and_a_layer_reached_up(tmp_path: Path) -> None:
    for name, text in {
        "low/__init__.py": "",
        "low/a.py": "def f():\n    from high import b\n",  # lazy, and upwards
        "high/__init__.py": "",
        "high/b.py": "from low.a import f\n",
    }.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    found = first_party_imports(module_files(tmp_path, ["low", "high"]))
    cycle = import_cycle(found) or []
    assert cycle[0] == cycle[-1] and sorted(cycle[1:]) == ["high.b", "low.a"]
    allowed = {"low": frozenset[str](), "high": frozenset({"low"})}
    assert [v.split(": ", 1)[1] for v in layer_violations(found, allowed)] == [
        "low.a imports high.b"
    ]


def import_alone_failures(
    first_party: Iterable[str], preload: list[str], modules: list[str], path: Path | None = None
) -> list[str]:
    """Run tests/import_alone.py: what failed to import alone, each with its traceback."""
    request = {"first_party": list(first_party), "preload": preload, "modules": modules}
    env = {**os.environ, "PYTHONPATH": str(path)} if path else None
    # -P: the script's folder (tests/) is not put on sys.path, so nothing there shadows a module.
    done = subprocess.run(
        [sys.executable, "-P", str(ROOT / "tests" / "import_alone.py")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    failures: list[str] = json.loads(done.stdout.splitlines()[-1])
    return failures


@pytest.mark.processes
def test_every_module_imports_alone_in_a_fresh_interpreter(modules: dict[str, Path]) -> None:
    assert len(modules) > 100  # every module of seven packages, not a handful
    failures = import_alone_failures(
        FIRST_PARTY, third_party_roots(modules, FIRST_PARTY), sorted(modules)
    )
    assert failures == [], "\n\n".join(failures)


@pytest.mark.processes
def test_a_module_that_needs_another_imported_first_fails_alone(tmp_path: Path) -> None:
    (tmp_path / "dep").mkdir()
    (tmp_path / "dep" / "__init__.py").write_text("")
    (tmp_path / "dep" / "b.py").write_text("B = 1\n")
    # dep.a reads dep.b without importing it: fine after dep.b, broken alone.
    (tmp_path / "dep" / "a.py").write_text("import dep\n\nA = dep.b.B\n")
    failures = import_alone_failures(["dep"], [], ["dep", "dep.b", "dep.a"], tmp_path)
    assert len(failures) == 1
    assert failures[0].startswith("dep.a:")
    assert "has no attribute 'b'" in failures[0]


# The engine's rooms, each allowed to import only those listed (and contracts, apikit).
_ROOMS = {
    "trust": {"spec"},
    "messagelog": set(),
    "proxy": {"trust", "messagelog", "settings", "spec"},
    "monitoring": {"proxy", "settings"},
    "documents": {"proxy", "trust", "messagelog", "settings", "spec"},
    "api": {"proxy", "trust", "messagelog", "monitoring", "documents", "settings", "spec"},
}


def _room(module: str, package: str = "gateway") -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == package else None


def room_violations(
    edges: Iterable[Import], package: str, rooms: Mapping[str, set[str]]
) -> list[str]:
    """Imports from one room of `package` into another it may not import."""
    return [
        str(e)
        for e in edges
        if (room := _room(e.source, package)) in rooms
        and e.target.startswith(f"{package}.")
        and (target := e.target.split(".")[1]) != room
        and target not in rooms[room]
    ]


def test_the_engines_rooms_import_only_the_rooms_beneath_them(edges: list[Import]) -> None:
    wrong = room_violations(edges, "gateway", _ROOMS)
    assert not wrong, "\n".join(wrong)


# The sandbox's rooms (sandbox/*/__init__.py says what each owns), each allowed to import only
# those listed (and any package beneath sandbox/). The running sandbox knows neither the test
# tools nor the command line: what they share with it lives in runtime/ or beneath.
_SANDBOX_ROOMS = {
    "topology": set(),
    "pki": set(),
    "runtime": {"topology", "pki"},
    "export": {"topology", "pki"},
    "testing": {"runtime", "topology", "pki"},
    "cli": {"runtime", "topology", "pki", "export", "testing"},
}


def test_every_sandbox_module_lives_in_a_room(modules: dict[str, Path]) -> None:
    homeless = [
        m for m in modules if m.startswith("sandbox.") and m.split(".")[1] not in _SANDBOX_ROOMS
    ]
    assert homeless == []


def test_the_sandboxs_rooms_import_only_the_rooms_beneath_them(edges: list[Import]) -> None:
    wrong = room_violations(edges, "sandbox", _SANDBOX_ROOMS)
    assert not wrong, "\n".join(wrong)


def test_the_running_sandbox_imports_neither_testing_nor_the_cli(edges: list[Import]) -> None:
    assert {"testing", "cli"}.isdisjoint(_SANDBOX_ROOMS["runtime"])
    reaching = [
        str(e)
        for e in edges
        if e.source.startswith("sandbox.runtime")
        and e.target.startswith(("sandbox.testing", "sandbox.cli"))
    ]
    assert reaching == []
