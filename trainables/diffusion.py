"""Gaussian diffusion as small pure functions: noise schedules, forward noising, DDIM sampling.

Schedules (``SCHEDULES[name](T)`` -> betas ``(T,)`` float64):

* ``linear``: Ho et al. (2020), betas evenly from 1e-4 to 0.02 (for T = 1000; scaled by 1000 / T
  otherwise, as openai/improved-diffusion does).
* ``cosine``: Nichol & Dhariwal (2021), alpha_bar(t) = cos²((t/T + s) / (1 + s) · π/2) with s = 0.008,
  betas = 1 - alpha_bar(t+1) / alpha_bar(t) clipped at 0.999.

Forward process: x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε (:func:`q_sample`), t = 0 .. T-1 indexing
Ho et al.'s steps 1 .. T. DDIM (Song et al. 2021, eq. 12) on the sub-sequence τ_i = i · (T // S):
x_0 is predicted from ε, clipped to [-1, 1] and ε re-derived from the clipped x_0 (as
improved-diffusion's ``ddim_sample`` does, and diffusers' ``DDIMScheduler`` with ``clip_sample=True``
and ``use_clipped_model_output=True``; the ermongroup/ddim release does not clip), then x_prev = sqrt(ᾱ_prev) x_0 + sqrt(1 - ᾱ_prev - σ²) ε + σ z
with σ = η sqrt((1 - ᾱ_prev) / (1 - ᾱ_t)) sqrt(1 - ᾱ_t / ᾱ_prev) and ᾱ before the first step = 1.
Tests compare these functions with diffusers' schedulers.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

COSINE_S = 0.008  # Nichol & Dhariwal's offset: keeps beta_1 from being too small
MAX_BETA = 0.999  # Nichol & Dhariwal's clip: avoids the singularity at t = T


def linear_betas(T: int) -> np.ndarray:
    scale = 1000 / T
    return np.linspace(scale * 1e-4, scale * 0.02, T, dtype=np.float64)


def cosine_betas(T: int) -> np.ndarray:
    def alpha_bar(u: float) -> float:
        return math.cos((u + COSINE_S) / (1 + COSINE_S) * math.pi / 2) ** 2

    return np.array([min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), MAX_BETA) for i in range(T)], dtype=np.float64)


SCHEDULES: dict[str, Callable[[int], np.ndarray]] = {"linear": linear_betas, "cosine": cosine_betas}


def alphas_cumprod(schedule: str, T: int) -> torch.Tensor:
    """ᾱ_t for t = 0 .. T-1 as float32 ``(T,)`` (products computed in float64)."""
    return torch.from_numpy(np.cumprod(1.0 - SCHEDULES[schedule](T))).float()


def _per_image(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[t]`` shaped ``(B, 1, 1, 1)`` to broadcast over images like ``like``."""
    return values.to(like.device)[t].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    """x_t ~ q(x_t | x_0): ``sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) noise`` for per-image steps ``t`` ``(B,)``."""
    a = _per_image(abar, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def ddim_timesteps(T: int, steps: int) -> list[int]:
    """The DDIM sub-sequence τ, increasing: ``i * (T // steps)`` for i < steps (ermongroup/ddim's uniform
    skip; diffusers' "leading" spacing)."""
    stride = T // steps
    return [i * stride for i in range(steps)]


def ddim_step(x: torch.Tensor, eps: torch.Tensor, a_t: torch.Tensor | float, a_prev: torch.Tensor | float, eta: float,
              noise: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One DDIM update from ᾱ_t to ᾱ_prev; returns ``(x_prev, predicted x_0)``.

    ``noise`` (like ``x``) is needed only when ``eta > 0``.
    """
    a_t, a_prev = torch.as_tensor(a_t, dtype=x.dtype), torch.as_tensor(a_prev, dtype=x.dtype)
    x0 = ((x - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
    eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()  # consistent with the clipped x0
    sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).sqrt()
    out = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
    if eta > 0:
        out = out + sigma * noise
    return out, x0


@torch.no_grad()
def ddim_sample(model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x_T: torch.Tensor, abar: torch.Tensor,
                steps: int, eta: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Images x_0 in [-1, 1] from initial noise ``x_T`` ``(B, C, H, W)`` in ``steps`` DDIM steps.

    Deterministic given ``x_T`` when ``eta == 0``; with ``eta > 0`` the per-step noise comes from
    ``generator`` (on ``x_T``'s device).
    """
    seq = ddim_timesteps(len(abar), steps)
    abar = abar.to(x_T.device)
    x = x_T
    for i in reversed(range(len(seq))):
        t = torch.full((len(x),), seq[i], device=x.device, dtype=torch.long)
        a_prev = abar[seq[i - 1]] if i > 0 else torch.ones((), device=x.device)
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) if eta > 0 else None
        x, _ = ddim_step(x, model(x, t).to(x.dtype), abar[seq[i]], a_prev, eta, noise)
    return x  # the last step has ᾱ_prev = 1 and σ = 0: x is the clipped x_0 prediction


def slerp(z0: torch.Tensor, z1: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between noise tensors ``z0``, ``z1`` (each one image, flattened angle) at
    ``alpha`` ``(K,)`` in [0, 1]: ``(K, *z0.shape)``, as ermongroup/ddim interpolates DDIM initial noises."""
    theta = torch.acos((z0 * z1).sum() / (z0.norm() * z1.norm())).clamp(min=1e-6)
    a = alpha.view(-1, *([1] * z0.dim()))
    return (torch.sin((1 - a) * theta) * z0 + torch.sin(a * theta) * z1) / torch.sin(theta)
