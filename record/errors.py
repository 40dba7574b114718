"""Errors that end a command with exit code 2 (bad input, named with its fix, on one line), and the
argument parser that reports its own errors the same way."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class UsageError(Exception):
    """Bad input from the user. ``str(e)`` is one line naming the problem and the fix."""


class RecordError(UsageError):
    """An MLflow record that cannot be read as a study (an unreachable URI, an unknown study, a run
    that is not a study's parent); ``str(e)`` is one line with the fix."""


class RecordUnavailable(Exception):
    """The MLflow store did not answer within the driver's patience (``GENSTUDY_MLFLOW_PATIENCE_S``): the
    writes that could not be made are kept on local disk (:mod:`record.spool`) for ``--resume`` to write."""


class Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line on stderr and exit 2, as every genstudy input error."""

    def error(self, message: str) -> NoReturn:
        module = self.prog.removeprefix("python -m ")
        sys.stderr.write(f"{module}: error: {message}; fix: see {self.prog} --help\n")
        raise SystemExit(2)
