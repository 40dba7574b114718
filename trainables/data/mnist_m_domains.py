"""MNIST (source) -> MNIST-M (target) as a :class:`DomainData`, the data of the ``dann`` family.

Validation splits are carved from the training parts by MNIST's rule: the last 10,000 images.
Source: MNIST's 60,000 training images -> 50,000 train + 10,000 val; its 10,000 test images.
Target: MNIST-M's training part -> all but the last 10,000 train (labels never read in training),
the last 10,000 val (labelled: chooses hyperparameters); its test part is only reported. Built
MNIST-M has MNIST's sizes (50,000 / 10,000 / 10,000); the distributed files 49,001 / 10,000 / 9,001.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from trainables.data.domains import DomainData, Labelled, carve
from trainables.data.mnist_m import load_mnist_m

N_VAL = 10_000  # MNIST's validation rule: the last 10,000 training images


def load_mnist_m_domains(fixed: Mapping[str, Any], root: Path) -> DomainData:
    """``Family.load_data`` for ``dann``: ``fixed`` (the study's fixed config values) chooses the
    photos, the builder's seed, files or build, and the subsets (``source_train_size``,
    ``target_train_size``, ``eval_size``).

    Raises:
        DataUnavailable: MNIST or MNIST-M cannot be read or built (the message names the remedy).
    """
    from trainables.dann_config import DANNConfig
    from trainables.data import load_dataset

    cfg = DANNConfig(**fixed)
    mnist = load_dataset("mnist", root)  # its validation split is already MNIST's last 10,000 training images
    official_x = np.concatenate([mnist.x_train, mnist.x_val])[:, 0]  # the 60,000 in MNIST's order
    official_y = np.concatenate([mnist.y_train, mnist.y_val])
    target = load_mnist_m(Path(root), official_x, mnist.x_test[:, 0], official_y, mnist.y_test,
                          photos=cfg.photos, seed=cfg.mnist_m_seed, source=cfg.mnist_m_source)
    target_train, target_val = carve(target.x_train, target.y_train, N_VAL)
    splits = {"source_train": Labelled(mnist.x_train, mnist.y_train), "source_val": Labelled(mnist.x_val, mnist.y_val),
              "source_test": Labelled(mnist.x_test, mnist.y_test),
              "target_train": target_train, "target_val": target_val,
              "target_test": Labelled(target.x_test, target.y_test)}
    data = DomainData("mnist->mnist_m", splits, num_classes=10, origin=target.origin)
    return data.restrict(cfg.source_train_size, cfg.target_train_size, cfg.eval_size)
