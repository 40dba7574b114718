"""DCGAN modules (Radford et al. 2016): generator, discriminator and the :class:`GAN` holding both.

Both networks are stacks of 4-2-1 (transposed) convolutions: each block halves (D) or doubles (G)
the spatial size, with ``output_padding`` recovering odd sizes (28 -> 14 -> 7 -> 3). Channels are
``width`` next to the image and double per block away from it. The generator ends in tanh (pixels
in [-1, 1]); the discriminator returns one raw score per image (a logit for bce).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from trainables.gan_config import GANConfig
from trainables.models.vae import conv_sizes

Shape = tuple[int, int, int]  # (C, H, W)


def _act(name: str, slope: float) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.LeakyReLU(slope)


def _channels(cfg: GANConfig, i: int) -> int:
    """Channels of block ``i`` counted from the image side (0 is next to the image)."""
    return cfg.width * 2**i


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's init: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """z (B, latent_dim) -> images (B, C, H, W) in [-1, 1]."""

    def __init__(self, cfg: GANConfig, shape: Shape):
        super().__init__()
        c_img, h, _ = shape
        sizes = conv_sizes(h, cfg.depth)  # e.g. [28, 14, 7, 3]
        self.latent_dim = cfg.latent_dim
        c = _channels(cfg, cfg.depth - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(cfg.latent_dim, c, sizes[-1], 1, 0, bias=cfg.norm_g == "none")]
        layers += self._norm_act(cfg, c)  # (B, c, s, s)
        for i in reversed(range(cfg.depth)):
            pad = sizes[i] - 2 * sizes[i + 1]  # output_padding: 1 for odd sizes
            if i == 0:
                layers += [nn.ConvTranspose2d(c, c_img, 4, 2, 1, output_padding=pad), nn.Tanh()]
            else:
                c_out = _channels(cfg, i - 1)
                layers.append(nn.ConvTranspose2d(c, c_out, 4, 2, 1, output_padding=pad, bias=cfg.norm_g == "none"))
                layers += self._norm_act(cfg, c_out)
                c = c_out
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    @staticmethod
    def _norm_act(cfg: GANConfig, c: int) -> list[nn.Module]:
        norm = [nn.BatchNorm2d(c)] if cfg.norm_g == "batch" else []
        return [*norm, _act(cfg.act_g, cfg.leaky_slope)]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.unsqueeze(-1).unsqueeze(-1))  # (B, latent, 1, 1) -> (B, C, H, W)


class Discriminator(nn.Module):
    """images (B, C, H, W) in [-1, 1] -> one raw score per image (B,)."""

    def __init__(self, cfg: GANConfig, shape: Shape):
        super().__init__()
        c, h, _ = shape
        sizes = conv_sizes(h, cfg.depth)
        layers: list[nn.Module] = []
        for i in range(cfg.depth):
            c_out = _channels(cfg, i)
            batch_norm = cfg.norm_d == "batch" and i > 0  # DCGAN: no norm on D's input layer
            layers.append(nn.Conv2d(c, c_out, 4, 2, 1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(_act(cfg.act_d, cfg.leaky_slope))
            if cfg.d_dropout > 0:
                layers.append(nn.Dropout2d(cfg.d_dropout))
            c = c_out
        self.features = nn.Sequential(*layers)  # (B, width * 2**(depth-1), s, s)
        self.head = nn.Conv2d(c, 1, sizes[-1], 1, 0)  # (B, 1, 1, 1)
        self.apply(dcgan_init)
        if cfg.norm_d == "spectral":
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    spectral_norm(m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten()  # (B,)


class GAN(nn.Module):
    """The generator and discriminator of one trial: one module, so checkpoints and the cap see both."""

    def __init__(self, cfg: GANConfig, shape: Shape):
        super().__init__()
        if shape[1] != shape[2]:
            raise ValueError(f"DCGAN needs square images, got {shape[1]}x{shape[2]}")
        self.generator = Generator(cfg, shape)
        self.discriminator = Discriminator(cfg, shape)


def build_gan(cfg: GANConfig, shape: Shape) -> GAN:
    return GAN(cfg, shape)
