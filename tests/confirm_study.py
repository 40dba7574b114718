"""One VAE smoke study with a confirmation phase, piped, and its export, shared by the confirmation, progress and
importance-weighted NLL test modules: three search trials of two reports (an ASHA rung at report 1), then the top 2
configurations again with 2 fresh seeds each, on binarised MNIST so that the importance-weighted NLL is estimated
for the best trial and for each confirmation run (on 50 images: about a second a run)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.analysis_study import EXPORT_ARGS
from tests.conftest import once, run_cli
from tests.shared_study import SharedStudy, shared_study

STUDY = "vae_beta_sweep"
ARGS = ("--profile", "smoke", "--num-samples", "3", "--max-epochs", "2", "--confirm", "2", "--confirm-seeds", "2",
        "--set", "binarize=dynamic", "--set", "nll_iw_images=50", "--no-publish")


@dataclass(frozen=True)
class ConfirmedExport:
    out: Path
    code: int
    stderr: str


def confirmed_study(base: Path, mnist_root: Path) -> SharedStudy:
    return shared_study(base, "confirmed-smoke", STUDY, ARGS, mnist_root)


def confirmed_export(base: Path, mnist_root: Path) -> ConfirmedExport:
    """``analysis.export`` of :func:`confirmed_study` (once per session) into ``base/confirmed-smoke-export/out``."""
    study = confirmed_study(base, mnist_root)
    folder = base / "confirmed-smoke-export"
    with once(folder):
        record = folder / "export.json"
        if not record.is_file():
            p = run_cli("analysis.export", STUDY, "--tracking-uri", study.uri, "--out", str(folder / "out"),
                        "--data-root", str(mnist_root), *EXPORT_ARGS)
            record.write_text(json.dumps({"out": str(folder / "out"), "code": p.returncode, "stderr": p.stderr[-3000:]}))
        fields = json.loads(record.read_text())
    return ConfirmedExport(Path(fields["out"]), fields["code"], fields["stderr"])
