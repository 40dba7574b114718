"""One VAE smoke study with ``--register``, shared by the MLflow record and MLflow UI test modules of a session.

The first call runs ``study.run`` (real Ray, MLflow on SQLite, real MNIST); later calls reuse its database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import once, run_cli

STUDY = "vae_beta_sweep"
REGISTERED = "genstudy-smoke-vae"


@dataclass(frozen=True)
class SmokeStudy:
    uri: str
    folder: Path
    code: int
    stdout: str
    stderr: str


def smoke_study(base: Path, mnist_root: Path) -> SmokeStudy:
    """Run (once per session) ``vae_beta_sweep --profile smoke --register genstudy-smoke-vae`` under ``base``."""
    folder = base / "mlflow-smoke"
    with once(folder):
        record = folder / "smoke.json"
        if not record.is_file():
            uri = f"sqlite:///{folder}/m.db"
            p = run_cli("study.run", STUDY, "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri",
                        uri, "--storage-path", str(folder / "ray"), "--register", REGISTERED)
            record.write_text(json.dumps({"uri": uri, "folder": str(folder), "code": p.returncode, "stdout": p.stdout,
                                          "stderr": p.stderr}))
        fields = json.loads(record.read_text())
    return SmokeStudy(**{**fields, "folder": Path(fields["folder"])})
