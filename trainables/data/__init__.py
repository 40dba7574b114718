"""Datasets loaded once into memory as uint8 arrays and batched by index.

``load_dataset(name, root)`` returns an :class:`ImageData` with train, validation and test splits
(:mod:`trainables.data.splits` states the rule); trainables move it to their device once and convert
each batch to float in [0, 1]. No per-image transforms run in a training loop. A family whose data
has another shape brings its own container satisfying :class:`SplitData`.
"""

from trainables.data.arrays import DataUnavailable, ImageData, default_data_root
from trainables.data.registry import DATASETS, load_dataset
from trainables.data.splits import SplitData, check_splits, split_off_tail

__all__ = ["DATASETS", "DataUnavailable", "ImageData", "SplitData", "check_splits", "default_data_root",
           "load_dataset", "split_off_tail"]
