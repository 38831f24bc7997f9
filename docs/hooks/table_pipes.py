"""MkDocs hook: `\\|` inside a code span of a table row reads as `|` on the site, as on GitHub.

GitHub's tables need the backslash before a pipe even inside backticks; Python-Markdown's
already skip pipes inside code spans and would print the backslash. The pages stay written
for GitHub, and the site shows the same text.
"""

from __future__ import annotations

import re
from typing import Any

CODE_SPAN = re.compile(r"`[^`\n]+`")


def unescape_row(line: str) -> str:
    if not line.lstrip().startswith("|"):
        return line
    return CODE_SPAN.sub(lambda span: span.group(0).replace("\\|", "|"), line)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    lines, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        lines.append(line if fenced else unescape_row(line))
    return "\n".join(lines)
