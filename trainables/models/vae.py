"""VAE modules: MLP and convolutional encoders/decoders around one :class:`VAE`.

The encoder outputs (mu, log sigma^2); the decoder outputs logits (Bernoulli) or means before a
sigmoid (Gaussian, with a learned per-channel log scale). ``deterministic`` drops the variance
head and the sampling: a plain autoencoder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainables.vae_config import VAEConfig

Shape = tuple[int, int, int]  # (C, H, W)


def _block(layer: nn.Module, features: int, cfg: VAEConfig, conv: bool) -> list[nn.Module]:
    norm = (nn.BatchNorm2d if conv else nn.BatchNorm1d)(features) if cfg.batchnorm else None
    drop = (nn.Dropout2d if conv else nn.Dropout)(cfg.dropout) if cfg.dropout > 0 else None
    return [m for m in (layer, norm, nn.LeakyReLU(0.2) if conv else nn.ReLU(), drop) if m is not None]


class MLPEncoder(nn.Sequential):
    def __init__(self, cfg: VAEConfig, shape: Shape, out_features: int):
        layers: list[nn.Module] = [nn.Flatten()]
        n_in = math.prod(shape)
        for _ in range(cfg.depth):
            layers += _block(nn.Linear(n_in, cfg.width), cfg.width, cfg, conv=False)
            n_in = cfg.width
        super().__init__(*layers, nn.Linear(n_in, out_features))


class MLPDecoder(nn.Sequential):
    def __init__(self, cfg: VAEConfig, shape: Shape):
        layers: list[nn.Module] = []
        n_in = cfg.latent_dim
        for _ in range(cfg.depth):
            layers += _block(nn.Linear(n_in, cfg.width), cfg.width, cfg, conv=False)
            n_in = cfg.width
        super().__init__(*layers, nn.Linear(n_in, math.prod(shape)), nn.Unflatten(1, shape))


def conv_sizes(size: int, depth: int) -> list[int]:
    """Spatial sizes through ``depth`` 4-2-1 convolutions: 28 -> [28, 14, 7, 3, 1]."""
    sizes = [size]
    for _ in range(depth):
        sizes.append(sizes[-1] // 2)
    if sizes[-1] < 1:
        raise ValueError(f"conv depth {depth} is too deep for {size}px images (at most {int(math.log2(size))})")
    return sizes


class ConvEncoder(nn.Module):
    def __init__(self, cfg: VAEConfig, shape: Shape, out_features: int):
        super().__init__()
        c, h, _ = shape
        sizes = conv_sizes(h, cfg.depth)
        layers: list[nn.Module] = []
        for i in range(cfg.depth):
            c_out = cfg.width * 2**i
            layers += _block(nn.Conv2d(c, c_out, 4, 2, 1), c_out, cfg, conv=True)
            c = c_out
        self.features = nn.Sequential(*layers)  # (B, width * 2**(depth-1), s, s)
        self.head = nn.Linear(c * sizes[-1] ** 2, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    def __init__(self, cfg: VAEConfig, shape: Shape):
        super().__init__()
        c_img, h, _ = shape
        sizes = conv_sizes(h, cfg.depth)
        self.c0, self.s0 = cfg.width * 2 ** (cfg.depth - 1), sizes[-1]
        self.fc = nn.Linear(cfg.latent_dim, self.c0 * self.s0**2)
        layers: list[nn.Module] = []
        c = self.c0
        for i in reversed(range(cfg.depth)):
            target, pad = sizes[i], sizes[i] - 2 * sizes[i + 1]  # output_padding recovers odd sizes
            if i == 0:
                layers.append(nn.ConvTranspose2d(c, c_img, 4, 2, 1, output_padding=pad))
            else:
                c_out = cfg.width * 2 ** (i - 1)
                layers += _block(nn.ConvTranspose2d(c, c_out, 4, 2, 1, output_padding=pad), c_out, cfg, conv=True)
                c = c_out
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc(z)).view(-1, self.c0, self.s0, self.s0)  # (B, c0, s0, s0)
        return self.net(h)  # (B, C, H, W) logits


ARCHITECTURES = {"mlp": (MLPEncoder, MLPDecoder), "conv": (ConvEncoder, ConvDecoder)}


class VAE(nn.Module):
    """Encoder -> (mu, logvar) -> z -> decoder logits. ``deterministic``: z = encoder output."""

    def __init__(self, cfg: VAEConfig, shape: Shape):
        super().__init__()
        enc, dec = ARCHITECTURES[cfg.arch]
        self.latent_dim, self.deterministic = cfg.latent_dim, cfg.deterministic
        self.encoder = enc(cfg, shape, cfg.latent_dim * (1 if cfg.deterministic else 2))
        self.decoder = dec(cfg, shape)
        # log sigma of the Gaussian likelihood, one per channel; absent for Bernoulli
        self.log_scale = nn.Parameter(torch.zeros(shape[0], 1, 1)) if cfg.likelihood == "gaussian" else None

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.encoder(x)
        if self.deterministic:
            return h, None
        mu, logvar = h.chunk(2, dim=1)  # (B, latent), (B, latent)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Returns (logits, mu, logvar, z); logvar is None for a deterministic autoencoder."""
        mu, logvar = self.encode(x)
        if logvar is None:
            z = mu
        else:
            eps = (torch.randn_like(mu) if generator is None  # randn_like: torch.export keeps the batch dynamic
                   else torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype))
            z = mu + eps * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar, z

    def likelihood_params(self) -> dict:
        return {} if self.log_scale is None else {"log_scale": self.log_scale}

    def mean_image(self, logits: torch.Tensor) -> torch.Tensor:
        """The decoder's expected image in [0, 1]."""
        return torch.sigmoid(logits)


def build_vae(cfg: VAEConfig, shape: Shape) -> VAE:
    return VAE(cfg, shape)

