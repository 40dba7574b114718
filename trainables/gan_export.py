"""What a trained GAN is exported as (:class:`trainables.export.Exports`).

* The MLflow model and ``generator.pt2`` / ``generator.pt``: :class:`ImageSampler`, latents z (B, latent)
  -> images (B, C, H, W) in [0, 1].
* ``discriminator.pt2`` / ``discriminator.pt``: images (B, C, H, W) in [-1, 1] -> one raw score per image
  (B,), a logit for the bce loss; spectral norm is folded into the weights.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from trainables.export import Exportable, Exports
from trainables.images import signed_to_unit
from trainables.models.gan import GAN, Generator


class ImageSampler(nn.Module):
    """The exported generator: z (B, latent_dim) or (B, latent_dim, 1, 1) -> images (B, C, H, W) in [0, 1]."""

    def __init__(self, generator: Generator):
        super().__init__()
        self.generator = generator
        self.latent_dim: int = generator.latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return signed_to_unit(self.generator(z.flatten(1)))


def fold_spectral_norm(module: nn.Module) -> nn.Module:
    """A copy in which every spectrally normalised convolution is a plain one holding its current
    (normalised) weight. Parametrized copies share one generated class, and removing a
    parametrization edits that class, so the copy's layers are replaced instead."""
    from torch.nn.utils import parametrize

    out = copy.deepcopy(module)
    for name, m in module.named_modules():
        if not parametrize.is_parametrized(m):
            continue
        if not isinstance(m, nn.Conv2d):
            raise TypeError(f"{name}: folding a parametrization is defined for Conv2d only, not {type(m).__name__}")
        plain = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                          m.bias is not None, m.padding_mode)
        with torch.no_grad():
            plain.weight.copy_(m.weight)  # W / sigma(W), with the power iteration's stored vectors (eval mode)
            if m.bias is not None:
                plain.bias.copy_(m.bias)
        parent, _, child = name.rpartition(".")
        setattr(out.get_submodule(parent), child, plain)
    return out


def gan_exports(gan: GAN, shape: tuple[int, int, int], n_example: int = 4) -> Exports:
    """The generator (the MLflow model, ``generator.pt2`` and ``generator.pt``) and the discriminator
    (``discriminator.pt2`` and ``discriminator.pt``) of ``gan``, on the CPU in eval mode."""
    gan = copy.deepcopy(gan).cpu().eval()
    sampler = ImageSampler(gan.generator)
    discriminator = fold_spectral_norm(gan.discriminator)
    z = torch.randn(n_example, sampler.latent_dim, generator=torch.Generator().manual_seed(0))
    images = torch.rand(n_example, *shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    generator = Exportable(sampler, (z,), ("z",), ("images",), "z (B, latent) ~ N(0, I) -> images (B, C, H, W) in [0, 1]")
    scorer = Exportable(discriminator, (images,), ("images",), ("scores",),
                        "images (B, C, H, W) in [-1, 1] -> raw scores (B,); bce: sigmoid(score) = P(real)")
    return Exports(generator, {"generator": generator, "discriminator": scorer},
                   scripts={"generator": sampler, "discriminator": discriminator})
