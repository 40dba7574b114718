"""Parameter counts from a config, on the meta device: nothing is allocated."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def count_params(build: Callable[[], nn.Module]) -> int:
    """Number of parameters of ``build()``, constructed on the meta device."""
    with torch.device("meta"):
        model = build()
    return sum(p.numel() for p in model.parameters())
