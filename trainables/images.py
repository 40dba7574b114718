"""Image grids as PNG files."""

from __future__ import annotations

from pathlib import Path

import torch


def save_grid(images: torch.Tensor, path: str | Path, nrow: int = 8) -> None:
    """Write ``images`` (N, C, H, W) in [0, 1] as one PNG grid with a 2-pixel border."""
    from torchvision.utils import save_image

    save_image(images.detach().float().clamp(0, 1).cpu(), str(path), nrow=nrow, padding=2, pad_value=0.5)


def uint8_to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    return x.float().div_(255.0)


def signed_to_unit(x: torch.Tensor) -> torch.Tensor:
    """A generator's pixels in [-1, 1] -> [0, 1] (the GAN and DDPM families train on [-1, 1])."""
    return (x + 1.0) * 0.5
