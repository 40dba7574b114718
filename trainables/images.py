"""Image grids as PNG files."""

from __future__ import annotations

from pathlib import Path

import torch


def save_grid(images: torch.Tensor, path: str | Path, nrow: int = 8) -> None:
    """Write ``images`` (N, C, H, W) in [0, 1] as one PNG grid with a 2-pixel border.

    The pixels of torchvision's ``save_image(images, path, nrow=nrow, padding=2, pad_value=0.5)`` (RGB, one image
    alone without a border), without importing torchvision: its import pulls in ``torch._dynamo`` through
    ``torchvision.ops``, about 5 CPU-s in every ``analysis.export`` and in a trial's first image grid."""
    from PIL import Image

    x = images.detach().float().clamp(0, 1).cpu()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)  # grey -> RGB, as torchvision writes it
    n, c, h, w = x.shape
    pad, cols = 2, min(nrow, n)
    rows = -(-n // cols)
    if n == 1:
        grid = x[0]
    else:
        grid = torch.full((c, rows * (h + pad) + pad, cols * (w + pad) + pad), 0.5)
        for k in range(n):
            top, left = (k // cols) * (h + pad) + pad, (k % cols) * (w + pad) + pad
            grid[:, top:top + h, left:left + w] = x[k]
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()  # round to nearest
    Image.fromarray(pixels).save(str(path))


def uint8_to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    return x.float().div_(255.0)


def signed_to_unit(x: torch.Tensor) -> torch.Tensor:
    """A generator's pixels in [-1, 1] -> [0, 1] (the GAN and DDPM families train on [-1, 1])."""
    return (x + 1.0) * 0.5
