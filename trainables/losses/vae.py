"""VAE losses, per image (summed over pixels and latent dimensions), in nats; and beta schedules."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, shape (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | logits) for pixels in [0, 1] (BCE with logits), per image, shape (B,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)


def gaussian_nll(logits: torch.Tensor, x: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """-log N(x; sigmoid(logits), exp(log_scale)^2) per image, shape (B,)."""
    mean = torch.sigmoid(logits)
    nll = 0.5 * ((x - mean) * torch.exp(-log_scale)).pow(2) + log_scale + 0.5 * math.log(2 * math.pi)
    return nll.flatten(1).sum(dim=1)


RECON_LOSSES = {"bernoulli": bernoulli_nll, "gaussian": gaussian_nll}


def constant_beta(beta: float, t: float, period: int) -> float:
    return beta


def linear_beta(beta: float, t: float, period: int) -> float:
    """0 -> beta over the first ``period`` epochs (KL warm-up, Bowman et al. 2016)."""
    return beta if period <= 0 else beta * min(1.0, t / period)


def cyclical_beta(beta: float, t: float, period: int) -> float:
    """Fu et al. 2019: each ``period``-epoch cycle ramps 0 -> beta over its first half, then holds."""
    if period <= 0:
        return beta
    phase = (t % period) / period
    return beta * min(1.0, 2.0 * phase)


BETA_SCHEDULES = {"constant": constant_beta, "linear": linear_beta, "cyclical": cyclical_beta}
