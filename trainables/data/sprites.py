"""The 2D Sprites of Reed et al. 2015 ("Deep Visual Analogy-Making"), from the distributed files.

Expected layout (the ``data/sprites`` folder of Reed's ``nips2015-analogy-data.tar.gz``, placed at
``ROOT/sprites`` or left at ``ROOT/data/sprites``)::

    sprites_splits.mat      MATLAB (v5 or v7.3): trainidx, validx, testidx - 1-based character numbers
    sprites_0.mat ...       one file per character k = number - 1 (672 characters), MATLAB v7.3 (HDF5):
    sprites_671.mat           'sprites' a cell of animations (h5py: (A, 1) object references), each a
                              (60*60*3, frames) double matrix in [0, 1] (h5py: (frames, 10800)) whose
                              columns are 60x60x3 images in MATLAB's column-major order

(also 'masks' and 'labels', which are not read). This layout is what the public loaders read
(e.g. edflow's ``RawSprites``: ``frames.reshape(F, 3, 60, 60).transpose(0, 3, 2, 1)`` as HWC).
The label of an image is its character number - 1; the three splits hold disjoint characters.
Every animation in a file is read, frames in file order. Images are returned as uint8 (N, 3, 60, 60).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainables.data.arrays import DataUnavailable, ImageData
from trainables.data.paired import PairedData

FOLDERS = ("sprites", "data/sprites")  # under the data root: ours first, then the tarball's own
SPLIT_FILE = "sprites_splits.mat"
SPLIT_KEYS = {"train": "trainidx", "val": "validx", "test": "testidx"}
SIDE, CHANNELS = 60, 3
LAYOUT = (f"fix: put Reed et al.'s data/sprites folder (nips2015-analogy-data.tar.gz) at ROOT/sprites: {SPLIT_FILE} "
          "with trainidx/validx/testidx and sprites_K.mat (MATLAB v7.3, a cell 'sprites' of (10800, frames) "
          "matrices) for each 1-based character number K+1")


def sprites_folder(root: Path) -> Path:
    """The first of ``ROOT/sprites`` and ``ROOT/data/sprites`` that holds the split file."""
    for sub in FOLDERS:
        if (root / sub / SPLIT_FILE).is_file():
            return root / sub
    raise DataUnavailable(f"Sprites split file {root / FOLDERS[0] / SPLIT_FILE} is missing; {LAYOUT}")


def load_sprites(root: Path) -> PairedData:
    """Reed's Sprites in the official train/val/test split of characters.

    Raises:
        DataUnavailable: a missing or unreadable split or character file (the message names it).
    """
    folder = sprites_folder(Path(root))
    splits = read_splits(folder / SPLIT_FILE)
    arrays = {}
    for split, numbers in splits.items():
        xs, ys = [], []
        for number in numbers:
            frames = read_character(folder / f"sprites_{number - 1}.mat")
            xs.append(frames)
            ys.append(np.full(len(frames), number - 1, dtype=np.int64))
        arrays[split] = (np.concatenate(xs), np.concatenate(ys))
    n_labels = sum(len(numbers) for numbers in splits.values())
    images = ImageData("sprites", *arrays["train"], *arrays["val"], *arrays["test"], n_labels)
    return PairedData(images, labels_shared=False)


def read_splits(path: Path) -> dict[str, np.ndarray]:
    """``{"train", "val", "test"}`` -> 1-based character numbers, from a MATLAB v5 or v7.3 file."""
    from scipy.io.matlab import MatReadError

    try:
        raw = _read_mat_arrays(path, SPLIT_KEYS.values())
        out = {split: np.asarray(raw[key], dtype=np.float64).ravel() for split, key in SPLIT_KEYS.items()}
    except (OSError, ValueError, KeyError, TypeError, MatReadError) as e:
        raise DataUnavailable(f"cannot read Sprites split file {path} ({type(e).__name__}: {e}); {LAYOUT}") from e
    for split, numbers in out.items():
        if len(numbers) == 0 or np.any(numbers < 1) or np.any(numbers != np.round(numbers)):
            raise DataUnavailable(f"Sprites split file {path}: {SPLIT_KEYS[split]} must hold 1-based character "
                                  f"numbers; {LAYOUT}")
    return {split: numbers.astype(np.int64) for split, numbers in out.items()}


def _read_mat_arrays(path: Path, keys) -> dict[str, np.ndarray]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
        return {k: mat[k] for k in keys}
    except NotImplementedError:  # scipy's answer to a v7.3 file: it is HDF5
        import h5py

        with h5py.File(path, "r") as f:
            return {k: f[k][()] for k in keys}


def read_character(path: Path) -> np.ndarray:
    """Every frame of one character file as uint8 ``(F, 3, 60, 60)``."""
    import h5py

    if not path.is_file():
        raise DataUnavailable(f"Sprites character file {path} is missing; {LAYOUT}")
    try:
        with h5py.File(path, "r") as f:
            cells = f["sprites"][()].ravel()
            frames = [np.asarray(f[ref][()], dtype=np.float64) for ref in cells]
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise DataUnavailable(f"cannot read Sprites character file {path} ({type(e).__name__}: {e}); {LAYOUT}") from e
    pixels = SIDE * SIDE * CHANNELS
    if not frames or any(a.ndim != 2 or a.shape[1] != pixels for a in frames):
        shapes = sorted({a.shape for a in frames})
        raise DataUnavailable(f"Sprites character file {path}: expected animations of shape (frames, {pixels}), "
                              f"got {shapes}; {LAYOUT}")
    x = np.concatenate(frames)
    if not np.isfinite(x).all() or x.min() < -1e-6 or x.max() > 1 + 1e-6:
        raise DataUnavailable(f"Sprites character file {path}: pixel values outside [0, 1]; {LAYOUT}")
    # (F, 10800) rows are MATLAB column-major (row, col, channel): C-order (F, channel, col, row)
    x = x.reshape(-1, CHANNELS, SIDE, SIDE).transpose(0, 1, 3, 2)  # (F, C, H, W)
    return np.ascontiguousarray(np.rint(x * 255.0).clip(0, 255).astype(np.uint8))
