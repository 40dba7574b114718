"""Any folder tree of images (FFHQ, CelebA, LSUN exports, STL-10 as PNGs ...), resized once and cached.

Every file under ``data_dir`` (recursively) with an image extension is an image; each is converted
to RGB, resized so its shorter side is ``image_size`` and centre-cropped
(:func:`trainables.data.image_cache.resize_center_crop`). Labels follow torchvision's ``ImageFolder``:
when every image lies inside a first-level subfolder and there are at least two of them, the sorted
subfolder names are the classes; otherwise the folder is unlabelled (labels -1).

Order and splits (fixed, so every run and machine sees the same ones): the images are ordered by the
sha1 of their path relative to ``data_dir`` (a fixed pseudo-random order that does not depend on how
the tree is listed, so no class or subfolder ends up all in one split); the last
``min(n / 6, 10,000)`` are the test split, the last ``min(rest / 6, 10,000)`` of the rest the
validation split, and the remainder the training split.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from trainables.data.arrays import DataUnavailable
from trainables.data.image_cache import cache_path, cached, resize_center_crop

EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # torchvision's IMG_EXTENSIONS
HELD_OUT_SHARE, HELD_OUT_MAX = 1 / 6, 10_000  # per held-out split (test, then validation)
CACHE_VERSION = "v1"  # bump when decoding, resizing or ordering changes: old caches are not read


def list_images(folder: Path) -> list[str]:
    """Relative paths of the image files under ``folder``, in sha1-of-path order."""
    rel = [p.relative_to(folder).as_posix() for p in folder.rglob("*")
           if p.suffix.lower() in EXTENSIONS and p.is_file() and not any(part.startswith(".") for part in
                                                                        p.relative_to(folder).parts)]
    return sorted(rel, key=lambda r: hashlib.sha1(r.encode()).hexdigest())


def folder_name(folder: Path) -> str:
    """``folder-<its name>``, safe in file names (the dataset's name in caches and records)."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in folder.expanduser().resolve().name)
    return f"folder-{name or 'root'}"


def class_names(paths: list[str]) -> list[str]:
    """The sorted first-level subfolders when every image lies in one and there are at least two, else []."""
    tops = {p.split("/", 1)[0] for p in paths}
    if any("/" not in p for p in paths) or len(tops) < 2:
        return []
    return sorted(tops)


def held_out_sizes(n: int) -> tuple[int, int]:
    """``(n_val, n_test)`` for ``n`` images; every split keeps at least one image."""
    if n < 3:
        raise DataUnavailable(f"an image folder needs at least 3 images (train, validation, test), found {n}; "
                              "fix: --set data_dir= a folder with more images")
    n_test = max(1, min(round(n * HELD_OUT_SHARE), HELD_OUT_MAX))
    n_val = max(1, min(round((n - n_test) * HELD_OUT_SHARE), HELD_OUT_MAX))
    return n_val, n_test


def load_folder_arrays(data_dir: str, image_size: int, root: Path) -> dict[str, np.ndarray]:
    """``images`` uint8 ``(N, 3, S, S)``, ``labels`` int64 (-1: unlabelled) and ``classes`` (names), in
    the fixed order; read from the cache under ``root`` or decoded (and cached) on first use.

    Raises:
        DataUnavailable: ``data_dir`` missing, not a folder, holding no images, or holding unreadable ones.
    """
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DataUnavailable(f"data_dir {folder} is not an existing folder; fix: --set data_dir= a folder of images "
                              "(searched recursively)")
    paths = list_images(folder)
    if not paths:
        raise DataUnavailable(f"data_dir {folder} holds no images ({', '.join(EXTENSIONS)}, searched recursively); "
                              "fix: --set data_dir= a folder that does")
    held_out_sizes(len(paths))
    h = hashlib.sha1(f"{CACHE_VERSION}|{folder.resolve()}|{image_size}".encode())
    for rel in paths:
        st = (folder / rel).stat()
        h.update(f"|{rel}:{st.st_size}:{st.st_mtime_ns}".encode())
    return cached(cache_path(root, folder_name(folder), image_size, h.hexdigest()[:16]),
                  lambda: _decode(folder, paths, image_size))


def _decode(folder: Path, paths: list[str], size: int) -> dict[str, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    classes = class_names(paths)
    index = {c: i for i, c in enumerate(classes)}
    images = np.empty((len(paths), 3, size, size), np.uint8)
    bad = []
    for i, rel in enumerate(paths):
        try:
            with Image.open(folder / rel) as img:
                img.draft("RGB", (size, size))  # JPEG: decode at the smallest 1/2^k scale still >= size (fast)
                images[i] = resize_center_crop(img, size)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
            bad.append(f"{rel} ({type(e).__name__})")
    if bad:
        raise DataUnavailable(f"{len(bad)} of {len(paths)} files under {folder} cannot be read as images (first: "
                              f"{bad[0]}); fix: remove or re-save them")
    labels = np.array([index[p.split("/", 1)[0]] for p in paths] if classes else [-1] * len(paths), np.int64)
    return {"images": images, "labels": labels, "classes": np.array(classes, dtype=str)}
