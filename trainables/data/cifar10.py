"""CIFAR-10 in torchvision's layout: the python-pickle batches under ``root/cifar-10-batches-py``."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from trainables.data.arrays import DataUnavailable, ImageData

FOLDER = "cifar-10-batches-py"  # torchvision's CIFAR10.base_folder
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"


def load_cifar10(root: Path) -> ImageData:
    """CIFAR-10, uint8 ``(N, 3, 32, 32)``: 45,000 training, 5,000 validation (the last 5,000 of the official
    50,000 training images) and the official 10,000 test images.

    The batches are read as torchvision reads them (``data`` uint8 ``(N, 3072)`` row-major
    channel-first, ``labels``), without torchvision's md5 check so that copies re-packed in the same
    format load too. When the folder is missing, torchvision's download is tried first.
    Raises :class:`DataUnavailable` naming the remedy when the files cannot be found or read.
    """
    folder = root / FOLDER
    if not _complete(folder):
        _try_download(root)
    if not _complete(folder):
        raise DataUnavailable(
            f"CIFAR-10 is not under {folder} and could not be downloaded; fix: point --data-root (or "
            f"GENSTUDY_DATA_ROOT) at a folder holding {FOLDER}/ (torchvision's CIFAR10 layout), or run once with internet")
    x_train, y_train = zip(*(_read_batch(folder / name) for name in TRAIN_FILES))
    x_test, y_test = _read_batch(folder / TEST_FILE)
    return ImageData.from_official("cifar10", np.concatenate(x_train), np.concatenate(y_train), x_test, y_test,
                                   num_classes=10)


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (*TRAIN_FILES, TEST_FILE, META_FILE))


def _try_download(root: Path) -> None:
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(str(root), train=True, download=True)
    except Exception:  # no network, a proxy, a read-only root: the caller names the remedy
        pass


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"] if "labels" in batch else batch["fine_labels"], dtype=np.int64)
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as e:
        raise DataUnavailable(f"cannot read CIFAR-10 batch {path}: {e}; fix: re-download it") from e
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataUnavailable(f"{path}: expected data (N, 3072) and N labels, got {data.shape} and {len(labels)}")
    return data.reshape(-1, 3, 32, 32), labels  # torchvision reshapes the same way, then transposes to HWC
