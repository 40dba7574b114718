"""One VAE smoke study with ``--register``, shared by the VAE end-to-end, MLflow record and MLflow UI test modules
of a session (real Ray, MLflow on SQLite, real MNIST)."""

from __future__ import annotations

from pathlib import Path

from tests.shared_study import SharedStudy, shared_study

STUDY = "vae_beta_sweep"
REGISTERED = "genstudy-smoke-vae"


def smoke_study(base: Path, mnist_root: Path) -> SharedStudy:
    """``vae_beta_sweep --profile smoke --register genstudy-smoke-vae`` (once per session) under ``base``."""
    return shared_study(base, "mlflow-smoke", STUDY, ("--profile", "smoke", "--register", REGISTERED), mnist_root)
