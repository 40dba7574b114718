"""The GAN smoke study (the four loss baselines, the best generator published) and its export with ``--models``,
shared by the GAN end-to-end and GAN analysis test modules of a session: one study for both (real Ray, MLflow on
SQLite, real MNIST)."""

from __future__ import annotations

from pathlib import Path

from tests.analysis_study import SmokeExport, smoke_export

STUDY = "gan_loss_sweep"


def gan_smoke(base: Path, mnist_root: Path) -> SmokeExport:
    """``gan_loss_sweep --profile smoke`` and ``analysis.export --models`` (once per session) under ``base``."""
    return smoke_export(base, STUDY, mnist_root, export_args=("--models", "{out}/models"))
