"""The in-memory image container shared by every image loader."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainables.data.splits import array_digest, split_off_tail, validation_size


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
    """Train, validation and test images as uint8 arrays ``(N, C, H, W)`` with integer labels ``(N,)``.

    Build it with :meth:`from_official` from a dataset's official train/test split: the validation
    split is then carved from the training images by the documented rule (``splits.validation_size``).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    def __post_init__(self) -> None:
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.uint8 or x.ndim != 4:
                raise ValueError(f"{self.name}: {split} images must be uint8 (N, C, H, W), got {x.dtype} {x.shape}")
            if len(x) != len(y):
                raise ValueError(f"{self.name}: {split} images and labels differ in length ({len(x)} vs {len(y)})")

    @classmethod
    def from_official(cls, name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                      y_test: np.ndarray, num_classes: int) -> "ImageData":
        """The official training set split into train and validation (its last rows), and the test set."""
        xt, yt, xv, yv = split_off_tail(x_train, y_train, validation_size(name, len(x_train)))
        return cls(name, xt, yt, xv, yv, x_test, y_test, num_classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)``."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def split_sizes(self) -> dict[str, int]:
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}

    def digest(self) -> str:
        return array_digest([self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test], self.name)

    def subset(self, train_size: int | None) -> "ImageData":
        """The first ``train_size`` training images (all of them for ``None``); validation and test are kept whole."""
        if train_size is None or train_size >= len(self.x_train):
            return self
        return ImageData(self.name, self.x_train[:train_size], self.y_train[:train_size], self.x_val, self.y_val,
                         self.x_test, self.y_test, self.num_classes)


class WrapsImages:
    """``SplitData``'s name, sizes, digest and image shape for a family's data that holds an ``images: ImageData``."""

    images: ImageData

    @property
    def name(self) -> str:
        return self.images.name

    def split_sizes(self) -> dict[str, int]:
        return self.images.split_sizes()

    def digest(self) -> str:
        return self.images.digest()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.images.image_shape
