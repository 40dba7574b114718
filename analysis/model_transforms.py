"""Input transforms and denorm for the models ``analysis.export --models DIR`` writes.

This file is copied as it is into DIR as ``transforms.py``: it needs torch only (no genstudy, no
torchvision), so a notebook can ``from transforms import vae_transform, gan_transform, denorm``.

- ``vae_transform``: images -> float pixels in [0, 1], channels first: what ``vae.pt`` encodes
  (the same as torchvision's ``ToTensor()``).
- ``gan_transform``: images -> pixels in [-1, 1]: what ``discriminator.pt`` scores (``ToTensor()``
  then ``Normalize(0.5, 0.5)``).
- ``denorm``: the generator's pixels in [-1, 1] -> [0, 1], for showing or saving them.

Images may be a PIL image, a NumPy array or a tensor: (H, W), (H, W, C), (C, H, W), (N, H, W),
(N, H, W, C) or (N, C, H, W) with C in {1, 3}; uint8 pixels are divided by 255, float ones are taken
as already in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch

CHANNELS = (1, 3)


def to_unit(images) -> torch.Tensor:
    """Pixels in [0, 1] as float32, channels first ((C, H, W), or (N, C, H, W) for a batch)."""
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.array(images))  # a copy: PIL arrays are read-only
    scale = 255.0 if x.dtype == torch.uint8 else 1.0
    x = x.float() / scale
    if x.dim() == 2:  # (H, W)
        return x.unsqueeze(0)
    if x.dim() == 3:
        if x.shape[-1] in CHANNELS and x.shape[0] not in CHANNELS:  # (H, W, C)
            return x.permute(2, 0, 1).contiguous()
        if x.shape[0] in CHANNELS:  # (C, H, W)
            return x
        return x.unsqueeze(1)  # (N, H, W)
    if x.dim() == 4 and x.shape[-1] in CHANNELS and x.shape[1] not in CHANNELS:  # (N, H, W, C)
        return x.permute(0, 3, 1, 2).contiguous()
    if x.dim() == 4:
        return x
    raise ValueError(f"expected 2 to 4 image dimensions, got shape {tuple(x.shape)}")


def vae_transform(images) -> torch.Tensor:
    """Images -> pixels in [0, 1], channels first: the VAE's input."""
    return to_unit(images)


def gan_transform(images) -> torch.Tensor:
    """Images -> pixels in [-1, 1], channels first: the discriminator's input."""
    return to_unit(images) * 2.0 - 1.0


def denorm(x: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> [0, 1] (clamped), for display."""
    return ((x + 1.0) / 2.0).clamp(0.0, 1.0)
