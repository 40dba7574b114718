"""The in-memory dataset container shared by every loader."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataUnavailable(Exception):
    """A dataset cannot be read or built; the message names the remedy."""


def default_data_root() -> Path:
    """``$GENSTUDY_DATA_ROOT``, else ``$XDG_CACHE_HOME/genstudy/data`` (``~/.cache/genstudy/data``)."""
    if os.environ.get("GENSTUDY_DATA_ROOT"):
        return Path(os.environ["GENSTUDY_DATA_ROOT"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "genstudy" / "data"


@dataclass(frozen=True)
class ImageData:
    """Train and test images as uint8 arrays ``(N, C, H, W)`` with integer labels ``(N,)``."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    def __post_init__(self) -> None:
        for x in (self.x_train, self.x_test):
            if x.dtype != np.uint8 or x.ndim != 4:
                raise ValueError(f"{self.name}: images must be uint8 (N, C, H, W), got {x.dtype} {x.shape}")
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ValueError(f"{self.name}: images and labels differ in length")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)``."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def subset(self, train_size: int | None) -> "ImageData":
        """The first ``train_size`` training images (all of them for ``None``); the test set is kept whole."""
        if train_size is None or train_size >= len(self.x_train):
            return self
        return ImageData(self.name, self.x_train[:train_size], self.y_train[:train_size],
                         self.x_test, self.y_test, self.num_classes)
