"""Datasets loaded once into memory as uint8 arrays and batched by index.

``load_dataset(name, root)`` returns an :class:`ImageData`; trainables move it to their device
once and convert each batch to float in [0, 1]. No per-image transforms run in a training loop.
"""

from trainables.data.arrays import DataUnavailable, ImageData, default_data_root
from trainables.data.registry import DATASETS, load_dataset

__all__ = ["DATASETS", "DataUnavailable", "ImageData", "default_data_root", "load_dataset"]
