"""An mkdocs hook: docstrings name code as Sphinx does (:class:`Family`); on the site the role goes and the
name stays code. mkdocstrings renders ``:class:`X``` as ``:class:<code>X</code>``."""

from __future__ import annotations

import re

ROLE = re.compile(r":(?:mod|class|func|meth|attr|data|exc):(?=<code>)")


def on_page_content(html: str, page, config, files) -> str:
    return ROLE.sub("", html)
