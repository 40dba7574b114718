"""The DDPM family's data: MNIST padded to 32 px, STL-10, or any image folder, at ``image_size``.

``load_ddpm_data(fixed, root)`` (``Family.load_data``) reads the study's fixed ``dataset``,
``data_dir``, ``image_size`` and ``fid_features`` and returns a :class:`DiffusionData`: an
:class:`ImageData` (uint8 ``(N, C, S, S)``; labels -1 where a dataset has none) with the feature
space its FID uses. Splits (fixed rules):

* ``mnist``: genstudy's MNIST splits (the last 10,000 of the 60,000 training images are validation;
  the official 10,000 test images), each image zero-padded from 28 to 32 px.
* ``stl10``: the 5,000 labelled training images followed by the 100,000 unlabelled ones (when
  ``unlabeled_X.bin`` is there); the last sixth of those is validation (all unlabelled images when
  the unlabelled file is present); the official 8,000 test images.
* ``image_folder``: see :mod:`trainables.data.image_folder` (test, then validation, carved from the
  end of a fixed sha1-of-path order).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from trainables.data.arrays import DataUnavailable, ImageData, WrapsImages
from trainables.data.image_cache import cache_path, cached, resize_array
from trainables.data.image_folder import folder_name, held_out_sizes, load_folder_arrays
from trainables.data.registry import load_dataset
from trainables.data.splits import split_off_tail, validation_size
from trainables.data.stl10 import SIDE as STL10_SIDE, load_stl10_arrays, stl10_folder
from trainables.ddpm_config import DataSpec
from trainables.fid import FID_WEIGHTS, FID_WEIGHTS_ENV, fid_weights_path

MNIST_PAD = 2  # 28 px + 2 on each side = 32 px, the smallest size the U-Net takes


@dataclass(frozen=True)
class DiffusionData(WrapsImages):
    """Images in three splits and the feature space (``fid_features``) their FID is computed in."""

    images: ImageData
    fid_features: str

    def classifier_data(self) -> ImageData:
        """The labelled training rows with the validation and test splits: what the FID classifier
        trains on (training rows only) and is compared against."""
        d = self.images
        keep = d.y_train >= 0
        return ImageData(d.name, d.x_train[keep], d.y_train[keep], d.x_val, d.y_val, d.x_test, d.y_test, d.num_classes)


def data_spec(fixed: Mapping[str, Any]) -> DataSpec:
    """The fixed data keys (defaults for the rest), checked as a trial's config checks them."""
    try:
        spec = DataSpec(**{f.name: fixed[f.name] for f in fields(DataSpec) if f.name in fixed})
    except ValueError as e:
        raise DataUnavailable(str(e)) from None
    if spec.dataset == "image_folder" and not spec.data_dir:
        raise DataUnavailable("dataset=image_folder needs data_dir; fix: --set data_dir=/path/to/images (python -m "
                              "trainables.data.shapes_folder DIR writes a generated one)")
    return spec


def load_ddpm_data(fixed: Mapping[str, Any], root: Path) -> DiffusionData:
    """``Family.load_data`` of the DDPM family (see the module docstring for the splits).

    Raises:
        DataUnavailable: missing or unreadable files, an empty folder, or a feature space the data
            cannot have (``fid_features=classifier`` without labels, ``inception`` without weights).
    """
    spec = data_spec(fixed)
    loader = {"mnist": _mnist32, "stl10": _stl10, "image_folder": _folder}[spec.dataset]
    images = loader(spec, Path(root))
    _check_features(spec, images)
    return DiffusionData(images, spec.fid_features)


def _check_features(spec: DataSpec, images: ImageData) -> None:
    if spec.fid_features == "classifier" and images.num_classes < 2:
        raise DataUnavailable(
            f"{images.name} has no class labels (no class subfolders), so genstudy's classifier cannot be trained "
            f"for val_fid; fix: --set fid_features=inception (needs the FID Inception weights {FID_WEIGHTS} "
            f"on disk: ${FID_WEIGHTS_ENV} or torch's hub checkpoints folder), or run the study ddpm_loss_sweep, which ranks by the validation denoising loss")
    if spec.fid_features == "inception" and fid_weights_path() is None:
        raise DataUnavailable(
            f"fid_features=inception needs the FID Inception-v3 weights on disk ({FID_WEIGHTS}: ${FID_WEIGHTS_ENV} or "
            "torch's hub checkpoints folder, never downloaded here; torchmetrics installed); fix: copy them there, use a labelled folder with "
            "fid_features=classifier, or run ddpm_loss_sweep")


def _mnist32(spec: DataSpec, root: Path) -> ImageData:
    d = load_dataset("mnist", root)
    pad = lambda x: np.pad(x, ((0, 0), (0, 0), (MNIST_PAD, MNIST_PAD), (MNIST_PAD, MNIST_PAD)))  # noqa: E731
    return ImageData("mnist32", pad(d.x_train), d.y_train, pad(d.x_val), d.y_val, pad(d.x_test), d.y_test,
                     d.num_classes)


def _stl10(spec: DataSpec, root: Path) -> ImageData:
    folder = stl10_folder(spec.data_dir, root)
    if spec.image_size == STL10_SIDE:
        arrays = load_stl10_arrays(folder)
    else:
        h = hashlib.sha1(f"stl10|{folder.resolve()}".encode())
        for f in sorted(folder.glob("*.bin")):
            h.update(f"|{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
        arrays = cached(cache_path(root, "stl10", spec.image_size, h.hexdigest()[:16]), lambda: _stl10_resized(folder, spec))
    x, y = arrays["x_train"], arrays["y_train"]
    xt, yt, xv, yv = split_off_tail(x, y, validation_size("stl10", len(x)))
    return ImageData("stl10", xt, yt, xv, yv, arrays["x_test"], arrays["y_test"], num_classes=10)


def _stl10_resized(folder: Path, spec: DataSpec) -> dict[str, np.ndarray]:
    arrays = load_stl10_arrays(folder)
    for split in ("train", "test"):
        arrays[f"x_{split}"] = resize_array(arrays[f"x_{split}"], spec.image_size)
    return arrays


def _folder(spec: DataSpec, root: Path) -> ImageData:
    arrays = load_folder_arrays(spec.data_dir, spec.image_size, root)
    x, y = arrays["images"], arrays["labels"]
    n_val, n_test = held_out_sizes(len(x))
    x_rest, y_rest, x_test, y_test = split_off_tail(x, y, n_test)
    xt, yt, xv, yv = split_off_tail(x_rest, y_rest, n_val)
    return ImageData(folder_name(Path(spec.data_dir)), xt, yt, xv, yv, x_test, y_test, num_classes=len(arrays["classes"]))
