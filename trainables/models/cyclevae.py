"""Cycle-consistent VAE modules (Jha et al. 2018): one encoder with a Gaussian z head and a
deterministic s head, and a decoder of (z, s).

The layers are those of the authors' release (``networks.py``) at ``width = 16``: three 5x5
stride-2 convolutions with instance norm and ReLU (28 -> 13 -> 6 -> 2), linear heads for z's mean and
log-variance and for s; the decoder maps z and s each to half of a (8w, s0, s0) block (linear,
LeakyReLU 0.2) and upsamples with three 4x4 stride-2 transposed convolutions (2 -> 6 -> 14 -> 28) to
a sigmoid image. The same stack serves 60x60 Sprites (60 -> 29 -> 14 -> 6; 6 -> 14 -> 30 -> 60).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainables.cyclevae_config import CycleVAEConfig

Shape = tuple[int, int, int]  # (C, H, W)
INIT_STD = 0.05  # the release's weights_init: N(0, 0.05) weights and zero biases for Conv2d and Linear


def encoder_size(size: int) -> int:
    """Spatial size after the encoder's three 5x5 stride-2 padding-1 convolutions (28 -> 2, 60 -> 6)."""
    for _ in range(3):
        size = (size - 3) // 2 + 1
    if size < 1:
        raise ValueError("images must be at least 12 pixels high for three stride-2 5x5 convolutions")
    return size


def decoder_size(size: int) -> int:
    """The decoder's starting size s0 for ``size``-pixel images (size = 8 s0 + 12: 28 -> 2, 60 -> 6)."""
    if size < 20 or (size - 12) % 8:
        raise ValueError(f"the decoder makes images of 8 * s0 + 12 pixels (20, 28, ..., 60, ...), not {size}")
    return (size - 12) // 8


class Encoder(nn.Module):
    def __init__(self, shape: Shape, width: int, z_dim: int, s_dim: int):
        super().__init__()
        c, h, w = shape
        layers: list[nn.Module] = []
        for c_out in (width, 2 * width, 4 * width):
            # instance norm without running statistics: the same per-image statistics in train and eval
            layers += [nn.Conv2d(c, c_out, 5, 2, 1), nn.InstanceNorm2d(c_out), nn.ReLU()]
            c = c_out
        self.features = nn.Sequential(*layers)  # (B, 4w, s, s)
        n = c * encoder_size(h) * encoder_size(w)
        self.z_mu = nn.Linear(n, z_dim)
        self.z_logvar = nn.Linear(n, z_dim)
        self.s = nn.Linear(n, s_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.features(x).flatten(1)
        return self.z_mu(h), self.z_logvar(h), self.s(h)


class Decoder(nn.Module):
    def __init__(self, shape: Shape, width: int, z_dim: int, s_dim: int):
        super().__init__()
        c_img, h, _ = shape
        self.c0, self.s0 = 8 * width, decoder_size(h)
        half = self.c0 // 2 * self.s0**2
        self.z_in = nn.Linear(z_dim, half)
        self.s_in = nn.Linear(s_dim, half)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.c0, 2 * width, 4, 2, 0), nn.InstanceNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 0), nn.InstanceNorm2d(width), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(width, c_img, 4, 2, 1), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        act = nn.functional.leaky_relu
        h = torch.cat([act(self.z_in(z), 0.2), act(self.s_in(s), 0.2)], dim=1)  # z fills the first 4w channels
        return self.net(h.view(-1, self.c0, self.s0, self.s0))  # (B, C, H, W) in [0, 1]


class CycleVAE(nn.Module):
    """``encode(x) -> (z_mu, z_logvar, s)``; ``decode(z, s) -> image``."""

    def __init__(self, cfg: CycleVAEConfig, shape: Shape):
        super().__init__()
        self.z_dim, self.s_dim = cfg.z_dim, cfg.s_dim
        self.encoder = Encoder(shape, cfg.width, cfg.z_dim, cfg.s_dim)
        self.decoder = Decoder(shape, cfg.width, cfg.z_dim, cfg.s_dim)
        self.apply(_release_init)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, s)


def _release_init(m: nn.Module) -> None:
    """The release's ``weights_init``: it matches Conv2d and Linear only (ConvTranspose2d keeps PyTorch's)."""
    if type(m) in (nn.Conv2d, nn.Linear):
        nn.init.normal_(m.weight, 0.0, INIT_STD)
        nn.init.zeros_(m.bias)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + eps * exp(logvar / 2), eps ~ N(0, I) from ``generator``."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def build_cyclevae(cfg: CycleVAEConfig) -> CycleVAE:
    """The whole model for ``cfg`` (its image shape comes from ``cfg.dataset``)."""
    return CycleVAE(cfg, cfg.image_shape)


def n_pixels(shape: Shape) -> int:
    return math.prod(shape)
