"""The inter-twinning moons of Ganin et al. (JMLR 2016, section 5.1.1, Figure 2).

Made as the authors' ``experiments_moons.py`` (``make_trans_moons``) makes them: scikit-learn's
``make_moons`` with noise 0.05, every draw shifted by minus the mean of the source training draw
and scaled by 2; a target draw is an *independent* draw, so transformed, then rotated
counter-clockwise by 35 degrees about the origin (the source mean).

Departure: the authors call ``make_moons(150)``, which counts the *total* (75 points per moon);
section 5.1.1 speaks of 150 examples of each class, so here every split is
``make_moons(n_samples=2 * n_per_class)`` with ``n_per_class = 150``: 300 points, 150 per moon.

Splits and their ``random_state``: source_train 1 and target_train 2 (the authors' two draws),
target_val 3, target_test 4, source_test 5, source_val 6. Training reads source_train's labels and
target_train's points only; source_val (labelled) and the unlabelled training points choose
hyperparameters by the DEV risk; target_val (labelled) chooses them only in the oracle study;
target_test is only reported.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from trainables.data.domains import DomainData, Labelled

DRAWS = {"source_train": 1, "target_train": 2, "target_val": 3, "target_test": 4, "source_test": 5, "source_val": 6}


def rotation_matrix(degrees: float) -> np.ndarray:
    """2x2 counter-clockwise rotation; points are rows, rotated as ``x @ R.T``."""
    t = math.radians(degrees)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def make_domain_moons(n_per_class: int = 150, rotation: float = 35.0, noise: float = 0.05) -> DomainData:
    """Source and rotated target moons, every split ``2 * n_per_class`` points (float32, labels 0/1)."""
    from sklearn.datasets import make_moons

    raw = {k: make_moons(n_samples=2 * n_per_class, noise=noise, random_state=s) for k, s in DRAWS.items()}
    shift = -raw["source_train"][0].mean(axis=0)
    r = rotation_matrix(rotation)
    splits = {}
    for k, (x, y) in raw.items():
        x = 2.0 * (x + shift)
        if k.startswith("target"):
            x = x @ r.T
        splits[k] = Labelled(x.astype(np.float32), y.astype(np.int64))
    origin = (f"make_moons, {n_per_class} points per moon, noise {noise}; target rotated {rotation:g} degrees "
              "counter-clockwise")
    return DomainData("moons", splits, num_classes=2, origin=origin)


def load_moons(fixed: Mapping[str, Any], root: Path | None = None) -> DomainData:
    """``Family.load_data`` for the moons: ``fixed`` (the study's fixed config values, defaults for the
    rest) chooses ``n_per_class``, ``rotation`` and ``noise``; ``root`` is unused (nothing is read)."""
    from trainables.dann_config import MoonsConfig

    cfg = MoonsConfig(**fixed)
    return make_domain_moons(cfg.n_per_class, cfg.rotation, cfg.noise)
