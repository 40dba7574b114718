"""Images resized and centre-cropped once to a square size, cached as uint8 arrays under the data root.

A cache file is an ``.npz`` of plain arrays (read with ``allow_pickle=False``), written to a temporary
name and renamed, so a crash mid-write never leaves a half-written cache that a later run would read.
Its name carries a digest of everything it was made from, so a changed source makes a new file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from trainables.data.arrays import DataUnavailable

CACHE_FOLDER = "image_cache"


def resize_center_crop(image, size: int) -> np.ndarray:
    """A PIL image as uint8 ``(3, size, size)`` RGB: the shorter side resized to ``size`` (bicubic, with
    PIL's antialiasing when shrinking), then the centre ``size`` x ``size`` crop (torchvision's
    ``Resize(size)`` + ``CenterCrop(size)``)."""
    from PIL import Image

    image = image.convert("RGB")
    w, h = image.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.BICUBIC)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    image = image.crop((left, top, left + size, top + size))
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()


def resize_array(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``(N, C, H, W)`` images through :func:`resize_center_crop` (3 channels out)."""
    from PIL import Image

    if images.shape[2:] == (size, size) and images.shape[1] == 3:
        return images
    out = np.empty((len(images), 3, size, size), np.uint8)
    for i, img in enumerate(images):
        hwc = img.transpose(1, 2, 0)
        out[i] = resize_center_crop(Image.fromarray(hwc[..., 0] if hwc.shape[2] == 1 else hwc), size)
    return out


def cache_path(root: Path, name: str, size: int, digest: str) -> Path:
    """``DATA_ROOT/image_cache/<name>-<size>px-<digest>.npz``, or under ``~/.cache/genstudy/image_cache``
    when the data root is read-only (as the classifier cache)."""
    from trainables.classifier import cache_dir

    try:
        return cache_dir(root, CACHE_FOLDER) / f"{name}-{size}px-{digest}.npz"
    except OSError as e:
        raise DataUnavailable(f"cannot create an image cache folder ({e}); fix: pass a writable --data-root") from e


def cached(path: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays saved at ``path``, or ``build()``'s, saved there atomically first.

    Raises:
        DataUnavailable: the cache file cannot be written (the message names the fix).
    """
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (OSError, ValueError, KeyError):  # unreadable (e.g. a disk error): rebuild it
            pass
    arrays = build()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError as e:
        raise DataUnavailable(f"cannot write the resized-image cache {path} ({e}); fix: pass a writable --data-root "
                              "(the cache lives under it)") from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)  # a failed or interrupted write leaves nothing behind
    return arrays
