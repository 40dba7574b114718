"""The DDPM training objective as pure functions.

Ho et al. (2020)'s L_simple: the mean squared error between the noise ε added by the forward process
and the network's prediction ε_θ(x_t, t), averaged over pixels (their ``meanflat``), with t uniform
over the T steps. ``LOSS_WEIGHTS[name](snr)`` weights it per time step: ``simple`` is L_simple itself
(weight 1); ``min_snr`` is Hang et al. (2023)'s Min-SNR-γ weighting for ε-prediction,
min(SNR_t, γ) / SNR_t with γ = 5, which down-weights the nearly clean steps whose gradients dominate early
training. The held-out losses (``val_loss``, ``test_loss``) are always unweighted L_simple.
"""

from __future__ import annotations

from typing import Callable

import torch

MIN_SNR_GAMMA = 5.0  # Hang et al.'s default


def eps_mse(eps_pred: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Per-image ``mean((ε_θ - ε)²)`` over channels and pixels: ``(B,)`` in float32."""
    return (eps_pred.float() - eps.float()).pow(2).flatten(1).mean(dim=1)


def snr(abar_t: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio ᾱ_t / (1 - ᾱ_t) of the forward process at each image's step."""
    return abar_t / (1 - abar_t)


LOSS_WEIGHTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "simple": lambda s: torch.ones_like(s),
    "min_snr": lambda s: s.clamp(max=MIN_SNR_GAMMA) / s,
}
