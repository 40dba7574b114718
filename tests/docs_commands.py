"""The commands the README and docs/ show, found and run as a reader would type them, but without training.

``shown()`` reads every fenced shell block (```` ```bash ````, ```` ```sh ````, or no language) of README.md and
docs/**/*.md and returns each ``genstudy ...`` / ``python -m <genstudy's package>...`` command once, as the argv
it runs, with the placeholders of ``SUBSTITUTIONS`` filled in. ``python -m tests.docs_commands FILE.json`` runs
such a list in this one process: ``genstudy run`` / ``list`` and ``python -m study.run`` with ``--print``
appended (the study is resolved, Ray never starts), anything else with ``--help``; it prints one JSON line per
command: its argv, exit code and output. One process, so that ``study.run``'s environment defaults and signal
handlers never reach the test session, and torch and Ray are imported once.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import re
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = (REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
SHELL = {"bash", "sh", "shell", ""}
PACKAGES = ("genstudy", "study", "analysis", "benchmarks", "search_spaces", "record", "trainables")
PRINTED = {("study.run",), ("genstudy", "run"), ("genstudy", "list")}  # what --print resolves; the rest: --help
# Placeholders a reader replaces, and the value each is run with. --data-root is any readable folder: --print
# checks it is one and reads nothing from it.
SUBSTITUTIONS = {"HEAD_IP": "127.0.0.1", "DIR": "{tmp}", "../shared/data": "{tmp}"}


def shown() -> dict[tuple[str, ...], list[str]]:
    """Each command shown (the argv after ``genstudy`` or ``python -m``, placeholders as written) -> its pages."""
    found: dict[tuple[str, ...], list[str]] = {}
    for page in PAGES:
        for lang, block in FENCE.findall(page.read_text()):
            if lang not in SHELL:
                continue
            for line in block.replace("\\\n", " ").splitlines():
                if line.split()[:1] not in (["genstudy"], ["python"], ["python3"]):
                    continue  # another program's line (its quoting is not ours to parse)
                argv = _ours(shlex.split(line, comments=True))
                if argv:
                    found.setdefault(argv, []).append(str(page.relative_to(REPO)))
    return found


def _ours(words: list[str]) -> tuple[str, ...] | None:
    """``genstudy ARGS`` -> ("genstudy", *ARGS); ``python -m M ARGS`` -> (M, *ARGS) for genstudy's own M."""
    if words[:1] == ["genstudy"]:
        return tuple(words)
    if len(words) >= 3 and words[0] in ("python", "python3") and words[1] == "-m" \
            and words[2].split(".")[0] in PACKAGES:
        return ("genstudy", *words[3:]) if words[2] == "genstudy" else tuple(words[2:])
    return None


def runnable(argv: tuple[str, ...], tmp: str) -> list[str]:
    """The argv with its placeholders filled and ``--print`` or ``--help`` appended."""
    filled = list(argv)
    for placeholder, value in SUBSTITUTIONS.items():
        word = re.compile(rf"(?<![\w.]){re.escape(placeholder)}(?![\w/])")  # DIR, not DIR_OR_URI
        filled = [word.sub(value.format(tmp=tmp), w) for w in filled]
    return filled + (["--print"] if tuple(argv[:2]) in PRINTED or argv[:1] == ("study.run",) else ["--help"])


def run(argv: list[str]) -> tuple[int, str]:
    """Run one command in this process; its exit code and everything it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            if argv[0] == "genstudy":
                from genstudy.cli import main

                code = main(argv[1:])
            else:
                code = importlib.import_module(argv[0]).main(argv[1:])
        except SystemExit as e:  # argparse's --help and its usage errors
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return code, out.getvalue()


if __name__ == "__main__":
    for argv in json.loads(Path(sys.argv[1]).read_text()):
        code, output = run(argv)
        print(json.dumps({"argv": argv, "code": code, "output": output[-3000:]}), flush=True)
