"""The docs site's hooks: the CLI reference, every command found from the parser's help;
GitHub's escaped pipes in tables."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def hook(name: str = "cli_reference") -> ModuleType:
    # A hook is loaded by MkDocs from its file, as here; docs/ is no package.
    spec = importlib.util.spec_from_file_location(name, ROOT / f"docs/hooks/{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_holds_every_command_and_subcommand_with_its_help() -> None:
    cli_reference = hook()
    page = cli_reference.reference()
    titles = re.findall(r"^#+ `(gsp-sandbox[^`]*)`$", page, re.M)
    top = cli_reference.help_text([])
    commands = cli_reference.subcommands(top)
    assert {"up", "call", "verify", "pki", "export"} <= set(commands)
    assert titles[0] == "gsp-sandbox"
    assert {f"gsp-sandbox {c}" for c in commands} <= set(titles)
    # Subcommands of subcommands are walked too; an option's or a positional's choices are not.
    assert {"gsp-sandbox pki issue", "gsp-sandbox export kubernetes"} <= set(titles)
    assert "gsp-sandbox faults add" not in titles
    assert "usage: gsp-sandbox export kubernetes [-h]" in page
    assert len(titles) == len(set(titles))


def test_the_hook_fills_only_the_page_that_asks_for_it() -> None:
    cli_reference = hook()
    page = (ROOT / "docs/reference/cli.md").read_text(encoding="utf-8")
    assert cli_reference.MARKER in page
    filled = cli_reference.on_page_markdown(page, page=None)
    assert cli_reference.MARKER not in filled and "## `gsp-sandbox up`" in filled
    assert cli_reference.on_page_markdown("# other", page=None) == "# other"


def test_escaped_pipes_in_a_table_rows_code_read_as_pipes_on_the_site() -> None:
    table_pipes = hook("table_pipes")
    page = "| `a\\|b` | `c` |\n```\n| `a\\|b` |\n```\ntext `a\\|b`"
    assert table_pipes.on_page_markdown(page, page=None) == (
        "| `a|b` | `c` |\n```\n| `a\\|b` |\n```\ntext `a\\|b`"
    )
