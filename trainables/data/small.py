"""Datasets that need no files: scikit-learn's 8x8 digits and generated shapes."""

from __future__ import annotations

import numpy as np

from trainables.data.arrays import ImageData


def load_digits_data(seed: int = 0) -> ImageData:
    """scikit-learn's bundled 8x8 digits (1,797 images, 0..16 scaled to 0..255): a seeded 80/20 train/test
    split, then the last sixth of the training part as validation."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.rint(d.images * (255 / 16)).astype(np.uint8)[:, None]  # (1797, 1, 8, 8)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    tr, te = order[:cut], order[cut:]
    y = d.target.astype(np.int64)
    return ImageData.from_official("digits", x[tr], y[tr], x[te], y[te], num_classes=10)


def make_shapes(n: int, size: int = 28, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of one filled shape each: 0 square, 1 disc, 2 horizontal bar, 3 vertical bar."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.zeros((n, 1, size, size), np.uint8)
    labels = rng.integers(0, 4, n)
    for i, label in enumerate(labels):
        r = rng.integers(size // 8, size // 4 + 1)
        cy, cx = rng.integers(r, size - r, 2)
        if label == 0:
            mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
        elif label == 1:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        elif label == 2:
            mask = (abs(yy - cy) <= r // 3) & (abs(xx - cx) <= r)
        else:
            mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r // 3)
        images[i, 0][mask] = 255
    return images, labels.astype(np.int64)


def load_synthetic(seed: int = 0) -> ImageData:
    """2,048 generated training images (the last sixth of them validation) and 512 test images (28x28, 4 classes)."""
    x_tr, y_tr = make_shapes(2048, seed=seed)
    x_te, y_te = make_shapes(512, seed=seed + 1)
    return ImageData.from_official("synthetic", x_tr, y_tr, x_te, y_te, num_classes=4)
