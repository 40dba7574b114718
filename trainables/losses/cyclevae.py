"""Cycle-consistent VAE losses (Jha et al. 2018), normalised as the authors' release normalises them.

Per image: the reconstruction error is the mean squared error over pixels (the release's
``mse_loss``: a sum over the batch's elements divided by their number), the KL is in nats summed
over z's dimensions and enters the loss divided by the image's pixel count (the release divides the
batch's KL sum by batch * C * H * W), and the reverse cycle is the mean absolute difference over z's
dimensions (``l1_loss``).
"""

from __future__ import annotations

import torch

from trainables.losses.vae import kl_normal


def pixel_mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over each image's pixels, shape (B,)."""
    return (x_hat - x).pow(2).flatten(1).mean(dim=1)


def forward_cycle_loss(recon_1: torch.Tensor, recon_2: torch.Tensor, kl_1: torch.Tensor, kl_2: torch.Tensor,
                       n_pixels: int, recon_weight: float, kl_weight: float) -> torch.Tensor:
    """The forward cycle's objective, a batch mean.

    Args:
        recon_1, recon_2: per-pair :func:`pixel_mse` of x1 decoded from (z1, s2) and x2 from (z2, s1), (B,).
        kl_1, kl_2: per-pair KL(q(z|x) || N(0, I)) of x1 and x2 in nats, (B,).
        n_pixels: C * H * W; the KL is divided by it, as in the release.
        recon_weight, kl_weight: the release's reconstruction_coef and kl_divergence_coef.
    """
    return (recon_weight * (recon_1 + recon_2) + kl_weight * (kl_1 + kl_2) / n_pixels).mean()


def reverse_cycle_loss(z_1: torch.Tensor, z_2: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between the z means re-encoded from g(z, s1) and g(z, s2) (a scalar)."""
    return (z_1 - z_2).abs().mean()


__all__ = ["forward_cycle_loss", "kl_normal", "pixel_mse", "reverse_cycle_loss"]
