"""Generated Sprites files in the distributed format (Reed et al. 2015), for loader and study tests.

Each character file is written as MATLAB v7.3 writes a struct of cells: an HDF5 file behind a
512-byte MAT header, the cell arrays 'sprites' and 'masks' as (A, 1) datasets of object references
into '#refs#', each animation a (frames, 10800) double dataset (MATLAB's (10800, frames)) whose rows
are 60x60x3 images in column-major (row, col, channel) order, and 'labels' a double row vector. The
split file is MATLAB v5 (scipy.io.savemat) with 1-based trainidx, validx and testidx.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIDE = 60
HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 2015 HDF5 schema 1.00 ."


def character_images(number: int, n_anims: int, frames: int) -> list[np.ndarray]:
    """Per animation, uint8 images (frames, 3, 60, 60): an asymmetric pattern that depends on the
    character, the animation and the frame (so orientation, order and labels can be checked)."""
    rng = np.random.default_rng(number)
    base = rng.integers(0, 256, (3, SIDE, SIDE), dtype=np.uint8)
    base[:, :10, :] = 255  # a bright band at the top rows: transposes show up as a left band
    out = []
    for a in range(n_anims):
        imgs = np.stack([np.roll(base, shift=2 * f + 5 * a, axis=2) for f in range(frames)])
        out.append(imgs)
    return out


def to_matlab_rows(images: np.ndarray) -> np.ndarray:
    """uint8 (F, C, H, W) -> the h5py view of MATLAB's (10800, F) doubles: (F, 10800), row index fastest."""
    return (images.transpose(0, 1, 3, 2).reshape(len(images), -1) / 255.0).astype(np.float64)


def write_character(path: Path, anims: list[np.ndarray]) -> None:
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        cells = {"sprites": [], "masks": []}
        for a, images in enumerate(anims):
            d = refs.create_dataset(f"s{a}", data=to_matlab_rows(images))
            d.attrs["MATLAB_class"] = np.bytes_("double")
            cells["sprites"].append(d.ref)
            m = refs.create_dataset(f"m{a}", data=(images.max(axis=1) > 0).reshape(len(images), -1).astype(np.float64))
            m.attrs["MATLAB_class"] = np.bytes_("double")
            cells["masks"].append(m.ref)
        for name, refs_list in cells.items():
            c = f.create_dataset(name, data=np.array(refs_list, dtype=h5py.ref_dtype).reshape(-1, 1))
            c.attrs["MATLAB_class"] = np.bytes_("cell")
        labels = f.create_dataset("labels", data=np.zeros((7, 1)))
        labels.attrs["MATLAB_class"] = np.bytes_("double")
    with open(path, "r+b") as fh:  # MATLAB's MAT header in the user block: text, subsystem offset, version, endian
        fh.write(HEADER.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM")


def write_sprites(folder: Path, splits: dict[str, list[int]], n_anims: int = 3,
                  frames: int = 4) -> dict[int, np.ndarray]:
    """Write ``sprites_splits.mat`` and one file per character number of ``splits`` (1-based) into
    ``folder``; returns character number -> its uint8 images (all animations, file order)."""
    import scipy.io

    folder.mkdir(parents=True, exist_ok=True)
    keys = {"train": "trainidx", "val": "validx", "test": "testidx"}
    scipy.io.savemat(str(folder / "sprites_splits.mat"),
                     {keys[s]: np.asarray(numbers, dtype=np.float64)[None] for s, numbers in splits.items()})
    images = {}
    for numbers in splits.values():
        for number in numbers:
            anims = character_images(number, n_anims, frames)
            write_character(folder / f"sprites_{number - 1}.mat", anims)
            images[number] = np.concatenate(anims)
    return images
