"""MNIST-M (Ganin et al., JMLR 2016, section 5.2.4): MNIST digits blended over patches of colour
photographs, ``I = |digit - patch|`` per channel.

Two ways to get it, tried in this order by ``source="auto"``:

1. **The distributed files** (Ganin's ``mnist_m.tar.gz``), unpacked under the data root::

       ROOT/mnist_m/mnist_m_train/00000000.png ...   28x28 RGB PNGs (59,001 in the release)
       ROOT/mnist_m/mnist_m_train_labels.txt          one line per image: "00000000.png 5"
       ROOT/mnist_m/mnist_m_test/00000000.png ...     (9,001 in the release)
       ROOT/mnist_m/mnist_m_test_labels.txt

   Every image a labels file names is read (PNG, converted to RGB, must be 28x28); a file that
   cannot be read is named in the error. Once read, the arrays are cached. (pumpikano/tf-dann's
   ``mnistm_data.pkl`` is not read: it holds no labels, and its splits follow TensorFlow's 55k/5k
   MNIST split.)
2. **Built** from MNIST and a set of colour photographs, deterministically from a seed: for every
   MNIST image (training then test, in MNIST's order), a photo is drawn uniformly, then a 28x28
   patch at a uniform position, and the image is ``|patch - digit|`` per channel (uint8). The
   photos are ``photos="skimage"``: the real colour photographs scikit-image ships in
   ``skimage.data`` (:data:`SKIMAGE_PHOTOS`; not BSDS500, so numbers are not directly comparable
   with the paper's), or a folder of photos (JPEG/PNG/BMP/TIFF; a relative path is taken under the
   data root), e.g. BSDS500's ``BSR/BSDS500/data/images/train``. MNIST-M image i is built from
   MNIST image i, so it keeps its label.

Departures from the builders: pumpikano/tf-dann binarises the digit (``x > 0``) before blending
and draws the patch position from an unseeded generator; here the grey digit is blended (the
paper's formula on intensities) and one seeded generator draws everything.

Caching: arrays go to ``ROOT/mnist_m_cache/`` (``~/.cache/genstudy/mnist_m_cache`` when the root
is read-only), named by a hash of everything that made them, written to a temporary file and
renamed: an interrupted build leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainables.data.arrays import DataUnavailable

FOLDER = "mnist_m"
RELEASE = {"train": ("mnist_m_train", "mnist_m_train_labels.txt"), "test": ("mnist_m_test", "mnist_m_test_labels.txt")}
CACHE = "mnist_m_cache"
BUILDER_VERSION = "grey-digit-v1"  # bump when the builder changes: old caches are ignored
PATCH = 28
# skimage.data's colour photographs of scenes and objects. Left out: colorwheel and logo (drawn,
# not photographed), cat (chelsea again), hubble_deep_field and retina (mostly black: their
# patches would leave the digit unchanged), and the images skimage must download (skin, lily, ...).
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "stereo_motorcycle")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class MnistM:
    """MNIST-M images ``(N, 3, 28, 28)`` uint8 and labels; ``origin`` says where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    origin: str


def blend(digits: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """``|patch - digit|`` per channel: digits ``(N, H, W)`` and patches ``(N, 3, H, W)``, uint8 in and out."""
    return np.abs(patches.astype(np.int16) - digits[:, None].astype(np.int16)).astype(np.uint8)


def random_patches(photos: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` patches ``(n, 3, 28, 28)``: a uniform photo (``(H, W, 3)`` uint8), then a uniform position in it."""
    which = rng.integers(len(photos), size=n)
    heights = np.array([p.shape[0] for p in photos])[which]
    widths = np.array([p.shape[1] for p in photos])[which]
    rows = rng.integers(0, heights - PATCH + 1)
    cols = rng.integers(0, widths - PATCH + 1)
    out = np.empty((n, 3, PATCH, PATCH), np.uint8)
    for k, photo in enumerate(photos):
        idx = np.flatnonzero(which == k)
        windows = np.lib.stride_tricks.sliding_window_view(photo, (PATCH, PATCH), axis=(0, 1))  # (H', W', 3, 28, 28)
        out[idx] = windows[rows[idx], cols[idx]]
    return out


def build_mnist_m(digits: np.ndarray, photos: list[np.ndarray], seed: int) -> np.ndarray:
    """MNIST-M images ``(N, 3, 28, 28)`` uint8 for MNIST digits ``(N, 28, 28)``, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    return blend(digits, random_patches(photos, len(digits), rng))


def skimage_photos() -> dict[str, np.ndarray]:
    """:data:`SKIMAGE_PHOTOS` as ``(H, W, 3)`` uint8 (the motorcycle's left view)."""
    import skimage.data

    out = {}
    for name in SKIMAGE_PHOTOS:
        image = getattr(skimage.data, name)()
        out[name] = np.asarray(image[0] if isinstance(image, tuple) else image, dtype=np.uint8)
    return out


def folder_photos(folder: Path) -> dict[str, np.ndarray]:
    """Every photo in ``folder`` (by name), as ``(H, W, 3)`` uint8; an unreadable or too small one is named."""
    from PIL import Image

    out = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES):
        try:
            with Image.open(path) as im:
                image = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError) as e:
            raise DataUnavailable(f"cannot read photo {path}: {e}; fix: remove it from {folder}") from e
        if min(image.shape[:2]) < PATCH:
            raise DataUnavailable(f"photo {path} is {image.shape[1]}x{image.shape[0]}, smaller than a {PATCH}px "
                                  f"patch; fix: remove it from {folder}")
        out[path.name] = image
    return out


def read_release(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from the distributed files under ``folder`` (see the module doc)."""
    arrays = []
    for images_dir, labels_file in RELEASE.values():
        arrays += _read_split(folder / images_dir, folder / labels_file)
    return tuple(arrays)  # type: ignore[return-value]


def _read_split(images_dir: Path, labels_file: Path) -> list[np.ndarray]:
    from PIL import Image

    try:
        lines = labels_file.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataUnavailable(f"cannot read MNIST-M labels {labels_file}: {e}; fix: re-extract the release") from e
    entries = []
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit() or not 0 <= int(parts[1]) <= 9:
            raise DataUnavailable(f"{labels_file}, line {number}: expected '<file>.png <digit>', got {line!r}")
        entries.append((parts[0], int(parts[1])))
    if not entries:
        raise DataUnavailable(f"MNIST-M labels {labels_file} names no images; fix: re-extract the release")
    x = np.empty((len(entries), 3, PATCH, PATCH), np.uint8)
    for i, (name, _) in enumerate(entries):
        path = images_dir / name
        try:
            with Image.open(path) as im:
                image = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError) as e:
            raise DataUnavailable(f"cannot read MNIST-M image {path}: {e}; fix: re-extract the release") from e
        if image.shape != (PATCH, PATCH, 3):
            raise DataUnavailable(f"MNIST-M image {path} is {image.shape[1]}x{image.shape[0]}, not 28x28; "
                                  "fix: re-extract the release")
        x[i] = image.transpose(2, 0, 1)
    return [x, np.array([label for _, label in entries], dtype=np.int64)]


def release_present(folder: Path) -> bool:
    """Whether any part of the release is under ``folder`` (then all of it must be)."""
    return any((folder / name).exists() for pair in RELEASE.values() for name in pair)


def load_mnist_m(root: Path, mnist_train: np.ndarray, mnist_test: np.ndarray, y_train: np.ndarray,
                 y_test: np.ndarray, photos: str = "skimage", seed: int = 42, source: str = "auto") -> MnistM:
    """MNIST-M from the distributed files under ``root/mnist_m``, else built from MNIST (digits
    ``(N, 28, 28)`` uint8 and labels) and ``photos``; cached under ``root``.

    Args:
        source: ``auto`` (files when any are present, else build), ``files`` or ``build``.
    Raises:
        DataUnavailable: the files are incomplete or corrupt (the file is named), or there are no
            files and no photos to build from (both remedies are named).
    """
    folder = root / FOLDER
    if source == "files" or (source == "auto" and release_present(folder)):
        missing = [str(folder / n) for pair in RELEASE.values() for n in pair if not (folder / n).exists()]
        if missing:
            raise DataUnavailable(f"MNIST-M files incomplete: {', '.join(missing)} not found; fix: extract the whole "
                                  f"release into {folder} (mnist_m_train/, mnist_m_train_labels.txt, mnist_m_test/, "
                                  "mnist_m_test_labels.txt), or remove it and --set mnist_m_source=build")
        key = _key("files", *(f"{(folder / f).stat().st_size}:{_sha1((folder / f).read_bytes())}"
                              for _, f in RELEASE.values()))
        arrays = _cached(root, f"mnist_m-files-{key}.npz", lambda: dict(zip(("x_train", "y_train", "x_test", "y_test"),
                                                                             read_release(folder))))
        return MnistM(**arrays, origin=f"the distributed MNIST-M files under {folder}")
    named = _photos(root, photos, folder)
    key = _key(BUILDER_VERSION, str(seed), *(f"{n}:{_sha1(p.tobytes())}" for n, p in named.items()),
               _sha1(mnist_train.tobytes()), _sha1(mnist_test.tobytes()))

    def build() -> dict[str, np.ndarray]:
        x = build_mnist_m(np.concatenate([mnist_train, mnist_test]), list(named.values()), seed)
        return {"x_train": x[:len(mnist_train)], "y_train": y_train, "x_test": x[len(mnist_train):], "y_test": y_test}

    arrays = _cached(root, f"mnist_m-built-{key}.npz", build)
    where = "skimage.data's colour photographs" if photos == "skimage" else f"the photos in {photos}"
    return MnistM(**arrays, origin=f"built from MNIST over {len(named)} of {where} ({', '.join(named)[:200]}), "
                                   f"seed {seed}")


def _photos(root: Path, photos: str, release: Path) -> dict[str, np.ndarray]:
    remedy = (f"fix: put the distributed MNIST-M files under {release} (mnist_m_train/*.png, mnist_m_train_labels.txt, "
              "the same for test), or --set photos=FOLDER naming a folder of colour photos (e.g. BSDS500's "
              "BSR/BSDS500/data/images/train)")
    if photos == "skimage":
        try:
            return skimage_photos()
        except (ImportError, OSError, AttributeError, ValueError) as e:
            raise DataUnavailable(f"no MNIST-M files and scikit-image's photographs cannot be loaded ({e}); "
                                  f"{remedy}") from e
    folder = Path(photos).expanduser()
    folder = folder if folder.is_absolute() else root / folder
    named = folder_photos(folder) if folder.is_dir() else {}
    if not named:
        raise DataUnavailable(f"no MNIST-M files under {release} and no photos in {folder} to build it from; {remedy}")
    return named


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _key(*parts: str) -> str:
    return _sha1("|".join(parts).encode())[:16]


def _cache_dirs(root: Path) -> list[Path]:
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genstudy" / CACHE
    return [root / CACHE, user]


def _cached(root: Path, name: str, make) -> dict[str, np.ndarray]:
    """The arrays cached as ``name`` (under the first cache folder that has them), else ``make()``,
    written atomically to the first writable cache folder (not at all if none is writable)."""
    for folder in _cache_dirs(root):
        path = folder / name
        if path.is_file():
            try:
                with np.load(path) as f:
                    return {k: f[k] for k in f.files}
            except (OSError, ValueError, EOFError):
                pass  # damaged from outside (writes are atomic): made again below
    arrays = make()
    for folder in _cache_dirs(root):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(folder / name, arrays)
            break
        except OSError:
            continue
    return arrays


def _write_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
