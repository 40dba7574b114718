"""A generated image folder for smoke runs and tests: coloured shapes, mixed sizes, JPEG and PNG.

``python -m trainables.data.shapes_folder DIR [--n N]`` writes ``DIR/<class>/<i>.{png,jpg}``: one
filled shape per image (classes ``disc``, ``square``, ``hbar``, ``vbar``) in a random colour on a
random background colour, each image of a random size between 40 and 100 px per side (not square), every
other one a JPEG. It is what the DDPM smoke profile trains on (``--set data_dir=DIR``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLASSES = ("disc", "square", "hbar", "vbar")
MIN_SIDE, MAX_SIDE = 40, 100


def shape_image(label: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """One ``(height, width, 3)`` uint8 image of class ``label``, the shape centred near the middle."""
    yy, xx = np.mgrid[0:height, 0:width]
    side = min(width, height)
    r = rng.uniform(0.2, 0.35) * side
    cy, cx = height / 2 + rng.uniform(-0.1, 0.1) * side, width / 2 + rng.uniform(-0.1, 0.1) * side
    dy, dx = np.abs(yy - cy), np.abs(xx - cx)
    mask = [dy**2 + dx**2 <= r * r, (dy <= r) & (dx <= r), (dy <= r / 3) & (dx <= r), (dy <= r) & (dx <= r / 3)][label]
    background, colour = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    while np.abs(background.astype(int) - colour).sum() < 200:  # keep the shape visible
        colour = rng.integers(0, 256, 3)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = background
    image[mask] = colour
    return image


def write_shapes_folder(folder: str | Path, n: int = 400, seed: int = 0) -> Path:
    """Write ``n`` images (classes in turn) under ``folder``; returns it."""
    from PIL import Image

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    for i in range(n):
        label = i % len(CLASSES)
        width, height = (int(v) for v in rng.integers(MIN_SIDE, MAX_SIDE + 1, 2))
        out = folder / CLASSES[label]
        out.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(shape_image(label, width, height, rng))
        image.save(out / (f"{i:05d}.jpg" if i % 2 else f"{i:05d}.png"), quality=95)
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(write_shapes_folder(args.folder, args.n, args.seed))


if __name__ == "__main__":
    main()
