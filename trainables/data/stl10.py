"""STL-10 in torchvision's binary layout: ``stl10_binary/{train,test}_{X,y}.bin`` and ``unlabeled_X.bin``.

Each ``*_X.bin`` is a flat run of uint8 images, 3 x 96 x 96 each, one channel after another, every
channel stored column-major (torchvision reshapes to ``(N, 3, 96, 96)`` and swaps the last two axes);
each ``*_y.bin`` holds one uint8 label per image, 1..10.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainables.data.arrays import DataUnavailable

FOLDER = "stl10_binary"  # torchvision's STL10.base_folder
SIDE = 96
IMAGE_BYTES = 3 * SIDE * SIDE
NUM_CLASSES = 10
REQUIRED = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
UNLABELED = "unlabeled_X.bin"


def stl10_folder(data_dir: str | None, root: Path) -> Path:
    """``DATA_DIR/stl10_binary`` (or ``DATA_DIR`` itself when it is that folder), else ``ROOT/stl10_binary``."""
    base = Path(data_dir).expanduser() if data_dir else root
    return base if base.name == FOLDER else base / FOLDER


def read_images(path: Path) -> np.ndarray:
    """``(N, 3, 96, 96)`` uint8, row-major, from one ``*_X.bin`` file."""
    try:
        flat = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise DataUnavailable(f"cannot read STL-10 file {path}: {e}; fix: re-download stl10_binary") from e
    if len(flat) == 0 or len(flat) % IMAGE_BYTES:
        raise DataUnavailable(f"STL-10 file {path} holds {len(flat)} bytes, not a whole number of 3x96x96 images; "
                              "fix: re-download stl10_binary (the file is truncated)")
    return flat.reshape(-1, 3, SIDE, SIDE).transpose(0, 1, 3, 2).copy()  # column-major channels -> row-major


def read_labels(path: Path, n: int) -> np.ndarray:
    """Labels 0..9 (int64) from a ``*_y.bin`` file of ``n`` labels 1..10."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise DataUnavailable(f"cannot read STL-10 file {path}: {e}; fix: re-download stl10_binary") from e
    if len(raw) != n or raw.min(initial=1) < 1 or raw.max(initial=1) > NUM_CLASSES:
        raise DataUnavailable(f"STL-10 labels {path}: expected {n} labels in 1..10, got {len(raw)}; "
                              "fix: re-download stl10_binary")
    return raw.astype(np.int64) - 1


def load_stl10_arrays(folder: Path) -> dict[str, np.ndarray]:
    """``x_train`` (the labelled training images, then the unlabelled ones when ``unlabeled_X.bin`` is
    there), ``y_train`` (-1 for the unlabelled), ``x_test``, ``y_test``: 96 px, uint8 ``(N, 3, 96, 96)``.

    Raises:
        DataUnavailable: a required file is missing, truncated or malformed (the message names it).
    """
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise DataUnavailable(f"STL-10 is not under {folder} (missing {', '.join(missing)}); fix: --set data_dir= the "
                              f"folder holding {FOLDER}/ (torchvision's STL10 layout), or run torchvision's STL10("
                              "root, download=True) once with internet")
    x_train, x_test = read_images(folder / "train_X.bin"), read_images(folder / "test_X.bin")
    y_train, y_test = read_labels(folder / "train_y.bin", len(x_train)), read_labels(folder / "test_y.bin", len(x_test))
    if (folder / UNLABELED).is_file():
        x_unlabeled = read_images(folder / UNLABELED)
        x_train = np.concatenate([x_train, x_unlabeled])
        y_train = np.concatenate([y_train, np.full(len(x_unlabeled), -1, np.int64)])
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
