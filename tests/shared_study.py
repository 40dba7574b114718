"""A study that several test modules read, run once per pytest session whatever the pytest-xdist worker.

The first call runs ``study.run`` (real Ray, MLflow on SQLite, real MNIST) with its output captured as a pipe, as
under a batch scheduler; it keeps the exit code and the output beside the database, and later calls (of any
worker) reuse them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import new_sqlite, once, run_cli


@dataclass(frozen=True)
class SharedStudy:
    uri: str
    folder: Path
    code: int
    stdout: str
    stderr: str


def shared_study(base: Path, name: str, study: str, args: tuple[str, ...], mnist_root: Path) -> SharedStudy:
    """``python -m study.run STUDY ARGS`` in ``base/name`` (once per session), with its own SQLite tracking URI,
    storage path and ``--data-root mnist_root``."""
    folder = base / name
    with once(folder):
        record = folder / "study.json"
        if not record.is_file():
            uri = new_sqlite(folder)
            p = run_cli("study.run", study, *args, "--data-root", str(mnist_root), "--tracking-uri", uri,
                        "--storage-path", str(folder / "ray"))
            record.write_text(json.dumps({"uri": uri, "folder": str(folder), "code": p.returncode, "stdout": p.stdout,
                                          "stderr": p.stderr}))
        fields = json.loads(record.read_text())
    return SharedStudy(**{**fields, "folder": Path(fields["folder"])})
