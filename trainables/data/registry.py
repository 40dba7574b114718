"""Dataset name -> loader."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from trainables.data.arrays import DataUnavailable, ImageData, default_data_root
from trainables.data.cifar10 import load_cifar10
from trainables.data.mnist import load_mnist
from trainables.data.small import load_digits_data, load_synthetic

DATASETS: dict[str, Callable[[Path], ImageData]] = {
    "mnist": load_mnist,
    "cifar10": load_cifar10,
    "digits": lambda root: load_digits_data(),  # bundled with scikit-learn, always offline
    "synthetic": lambda root: load_synthetic(),  # generated, for tests
}


IMAGE_SHAPES: dict[str, tuple[int, int, int]] = {  # (C, H, W), known without reading files
    "mnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
    "digits": (1, 8, 8),
    "synthetic": (1, 28, 28),
}


def image_shape(name: str) -> tuple[int, int, int]:
    """``(C, H, W)`` of dataset ``name``."""
    if name not in IMAGE_SHAPES:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(sorted(IMAGE_SHAPES))}")
    return IMAGE_SHAPES[name]


def load_dataset(name: str, root: str | Path | None = None) -> ImageData:
    """Load dataset ``name`` from ``root`` (default :func:`default_data_root`) into memory.

    Raises:
        DataUnavailable: unknown name, or files that cannot be read or built.
    """
    if name not in DATASETS:
        raise DataUnavailable(f"unknown dataset {name!r}; valid: {', '.join(sorted(DATASETS))}")
    root = Path(root).expanduser() if root is not None else default_data_root()
    return DATASETS[name](root)
