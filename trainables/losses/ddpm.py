"""The DDPM training objective as a pure function.

Ho et al. (2020)'s L_simple: the mean squared error between the noise ε added by the forward process
and the network's prediction ε_θ(x_t, t), averaged over pixels (their ``meanflat``), with t uniform
over the T steps. Returned per image, so callers can average or sum as they need.
"""

from __future__ import annotations

import torch


def eps_mse(eps_pred: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Per-image ``mean((ε_θ - ε)²)`` over channels and pixels: ``(B,)`` in float32."""
    return (eps_pred.float() - eps.float()).pow(2).flatten(1).mean(dim=1)
