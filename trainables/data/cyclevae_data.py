"""The cycle-consistent VAE family's data: same-label pairs over MNIST, the generated shapes or Sprites."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from trainables.data.paired import PairedData


def load_cyclevae_data(fixed: Mapping[str, Any], root: Path) -> PairedData:
    """The study's data from its fixed ``dataset``: MNIST or the generated shapes (val carved from the
    training set by the registry's rule) or Sprites (the official split of characters)."""
    dataset = fixed.get("dataset", "mnist")
    if dataset == "sprites":
        from trainables.data.sprites import load_sprites

        return load_sprites(Path(root))
    from trainables.data import load_dataset

    return PairedData(load_dataset(dataset, root))
