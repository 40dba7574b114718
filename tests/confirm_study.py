"""One VAE smoke study with a confirmation phase, piped, shared by the confirmation and progress test modules.

Three search trials of two reports (an ASHA rung at report 1), then the top 2 configurations again with 2 fresh
seeds each: the first call runs ``study.run`` (real Ray, MLflow on SQLite, real MNIST) with its output captured as a
pipe, as under a batch scheduler; later calls (of any pytest-xdist worker) reuse what it left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import once, run_cli

STUDY = "vae_beta_sweep"
ARGS = ("--profile", "smoke", "--num-samples", "3", "--max-epochs", "2", "--confirm", "2", "--confirm-seeds", "2")


@dataclass(frozen=True)
class ConfirmedStudy:
    uri: str
    folder: Path
    code: int
    stdout: str
    stderr: str


def confirmed_study(base: Path, mnist_root: Path) -> ConfirmedStudy:
    """Run (once per session) ``vae_beta_sweep`` with :data:`ARGS` under ``base``."""
    folder = base / "confirmed-smoke"
    with once(folder):
        record = folder / "study.json"
        if not record.is_file():
            uri = f"sqlite:///{folder}/m.db"
            p = run_cli("study.run", STUDY, *ARGS, "--data-root", str(mnist_root), "--tracking-uri", uri,
                        "--storage-path", str(folder / "ray"))
            record.write_text(json.dumps({"uri": uri, "folder": str(folder), "code": p.returncode, "stdout": p.stdout,
                                          "stderr": p.stderr}))
        fields = json.loads(record.read_text())
    return ConfirmedStudy(**{**fields, "folder": Path(fields["folder"])})
