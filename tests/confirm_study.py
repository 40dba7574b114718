"""One VAE smoke study with a confirmation phase, piped, shared by the confirmation and progress test modules:
three search trials of two reports (an ASHA rung at report 1), then the top 2 configurations again with 2 fresh
seeds each, on binarised MNIST so that the importance-weighted NLL is estimated for each confirmation run (on 50
images: about a second a run)."""

from __future__ import annotations

from pathlib import Path

from tests.shared_study import SharedStudy, shared_study

STUDY = "vae_beta_sweep"
ARGS = ("--profile", "smoke", "--num-samples", "3", "--max-epochs", "2", "--confirm", "2", "--confirm-seeds", "2",
        "--set", "binarize=dynamic", "--set", "nll_iw_images=50", "--no-publish")


def confirmed_study(base: Path, mnist_root: Path) -> SharedStudy:
    return shared_study(base, "confirmed-smoke", STUDY, ARGS, mnist_root)
