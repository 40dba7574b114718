"""The ``genstudy`` command: ``genstudy run STUDY ...``, ``genstudy list``, ``genstudy export STUDY ...``.

Each subcommand is the ``python -m`` form with the same options and exit codes:
``run`` is ``python -m study.run``, ``list`` is ``python -m study.run --list``, ``export`` is
``python -m analysis.export``.
"""

from __future__ import annotations

import sys

USAGE = """usage: genstudy COMMAND [ARGS]

  genstudy list [--studies FILE.py]       the studies: name, family, metric, question
  genstudy run STUDY [OPTIONS]            run a study (genstudy run --help; as python -m study.run)
  genstudy export STUDY [OPTIONS]         best configs, leaderboard, figures and report.html from MLflow
                                          (genstudy export --help; as python -m analysis.export)
  genstudy --version
"""
COMMANDS = ("run", "list", "export")


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; returns its exit code (``run`` exits the process itself once flushed)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "--version":
        from genstudy import __version__

        print(f"genstudy {__version__}")
        return 0
    if command == "export":
        from analysis import export

        return export.main(rest, prog="genstudy export")
    if command in ("run", "list"):
        from study import run

        code = run.main(rest if command == "run" else ["--list", *rest], prog=f"genstudy {command}")
        if argv is None and command == "run":
            run.exit_fast(code)  # skip the interpreter's teardown, as python -m study.run does
        return code
    print(f"genstudy: error: unknown command {command!r}; valid: {', '.join(COMMANDS)} (see genstudy --help)",
          file=sys.stderr)
    return 2
