"""An mkdocs hook: a page whose only line is ``<!-- include FILE -->`` shows FILE from the repository root.

README.md and BENCHMARKS.md live at the root (GitHub shows them there; ``python -m benchmarks.run`` writes
BENCHMARKS.md), so their links are relative to the root; on the site they are rewritten to be relative to
docs/: ``docs/X`` becomes ``X`` and ``BENCHMARKS.md`` becomes ``measured.md``. A link to anything else
outside docs/ stays as written, and ``mkdocs build --strict`` fails on it.
"""

from __future__ import annotations

import re
from pathlib import Path

INCLUDE = re.compile(r"^<!-- include (\S+) -->$", re.MULTILINE)
ROOT_LINK = re.compile(r"\]\((docs/|BENCHMARKS\.md)")


def on_page_markdown(markdown: str, page, config, files) -> str:
    root = Path(config["config_file_path"]).parent
    return INCLUDE.sub(lambda m: _relinked((root / m.group(1)).read_text()), markdown)


def _relinked(text: str) -> str:
    return ROOT_LINK.sub(lambda m: "](" + ("" if m.group(1) == "docs/" else "measured.md"), text)
