"""MkDocs hook: the CLI reference page, written at build time from the parser itself.

Every command's help is what `sandbox.cli.main([*words, "--help"])` prints, so the page can
never drift from the options. The commands are found by reading each help's usage line
(argparse writes a group of subcommands as `{a,b,c} ...`), not from a list kept here: a new
command or subcommand appears on the page by itself, wherever `main` comes to live.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from typing import Any

MARKER = "<!-- cli-reference -->"
PROGRAM = "gsp-sandbox"
# A group of subcommands in a usage line; an option's choices are never followed by "...".
SUBCOMMANDS = re.compile(r"\{([\w,-]+)\} \.\.\.")
WIDTH = "100"  # argparse wraps to the terminal; the page should not depend on who builds it


def help_text(words: list[str]) -> str:
    """What `gsp-sandbox WORDS --help` prints."""
    from sandbox.cli import main

    out = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main([*words, "--help"])
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return out.getvalue()


def subcommands(text: str) -> list[str]:
    usage = text.split("\n\n", 1)[0]
    found = SUBCOMMANDS.search(" ".join(usage.split()))
    return found.group(1).split(",") if found else []


def walk(words: list[str]) -> list[tuple[list[str], str]]:
    """Every command under WORDS, depth first, each with its help."""
    text = help_text(words)
    pages = [(words, text)]
    for name in subcommands(text):
        pages += walk([*words, name])
    return pages


def reference() -> str:
    sections = []
    for words, text in walk([]):
        title = " ".join([PROGRAM, *words])
        level = "#" * min(len(words) + 2, 4)
        sections.append(f"{level} `{title}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, reference())
