"""Device choice and seeding."""

from __future__ import annotations

import random

import numpy as np
import torch


def pick_device() -> torch.device:
    """CUDA when a GPU is visible to this process (Ray sets CUDA_VISIBLE_DEVICES per trial), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
