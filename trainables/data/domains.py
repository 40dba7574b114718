"""The two-domain container of the DANN families: labelled source splits, target splits whose
training labels the training loop never reads, and the rules that carve validation splits.

Split names: ``source_train``, ``source_val``, ``source_test``, ``target_train``, ``target_val``,
``target_test`` (a container may hold a subset; the two moons have no ``source_val``). The target
training labels are kept for the train-on-target upper bound and for analysis only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from trainables.data.splits import array_digest, split_off_tail

SPLITS = ("source_train", "source_val", "source_test", "target_train", "target_val", "target_test")


@dataclass(frozen=True)
class Labelled:
    """Inputs ``x`` (``(N, C, H, W)`` uint8 images or ``(N, D)`` float32 points) and labels ``y`` (N,) int64."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"inputs and labels differ in length: {len(self.x)} and {len(self.y)}")

    def head(self, n: int | None) -> "Labelled":
        """The first ``n`` rows (all of them for ``None``)."""
        return self if n is None or n >= len(self.x) else Labelled(self.x[:n], self.y[:n])


@dataclass(frozen=True)
class DomainData:
    """Splits of a source and a target domain (the ``SplitData`` protocol: ``name``,
    ``split_sizes()``, ``digest()``). ``origin`` says where the target came from, for reports."""

    name: str
    splits: Mapping[str, Labelled]
    num_classes: int
    origin: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.splits) - set(SPLITS)
        if unknown or not {"source_train", "target_train", "target_val", "target_test"} <= set(self.splits):
            raise ValueError(f"{self.name}: splits must include source_train and the three target splits, "
                             f"from {SPLITS}; got {sorted(self.splits)}")

    def __getitem__(self, split: str) -> Labelled:
        return self.splits[split]

    def split_sizes(self) -> dict[str, int]:
        return {k: len(self.splits[k].x) for k in SPLITS if k in self.splits}

    def digest(self) -> str:
        """A short sha1 of every split's arrays, in split order."""
        present = [k for k in SPLITS if k in self.splits]
        return array_digest([a for k in present for a in (self.splits[k].x, self.splits[k].y)],
                            f"{self.name}|{','.join(present)}")

    def restrict(self, source_train: int | None = None, target_train: int | None = None,
                 evaluation: int | None = None) -> "DomainData":
        """The first ``source_train`` / ``target_train`` training rows and the first ``evaluation``
        rows of every validation and test split (``None``: all); idempotent."""
        sizes = {"source_train": source_train, "target_train": target_train}
        splits = {k: v.head(sizes.get(k, evaluation)) for k, v in self.splits.items()}
        if all(splits[k] is self.splits[k] for k in splits):
            return self
        return DomainData(self.name, splits, self.num_classes, self.origin)


def carve(x: np.ndarray, y: np.ndarray, n_val: int) -> tuple[Labelled, Labelled]:
    """(train, val) by the contract's rule (:func:`trainables.data.splits.split_off_tail`): the last
    ``n_val`` rows become the validation split."""
    x_train, y_train, x_val, y_val = split_off_tail(x, y, n_val)
    return Labelled(x_train, y_train), Labelled(x_val, y_val)
