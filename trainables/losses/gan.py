"""Adversarial losses as pure functions of the discriminator's raw scores, behind registries.

``D_LOSSES[name](real, fake, **kw)`` and ``G_LOSSES[name](fake)`` take D's scores ``(B,)`` on real
and generated images and return a scalar. bce and lsgan take ``real_label`` (1 - eps for one-sided
label smoothing). wgan_gp's penalty is :func:`gradient_penalty`, added by the training loop.
``D_WON[name](real, fake, **kw)`` says whether D separates the batch completely (G gets no useful signal); bce's
and lsgan's take the same ``real_label``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def bce_d(real: torch.Tensor, fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """Goodfellow et al. 2014: BCE(sigmoid(real), real_label) + BCE(sigmoid(fake), 0)."""
    target = torch.full_like(real, real_label)
    return F.binary_cross_entropy_with_logits(real, target) + F.softplus(fake).mean()


def bce_g(fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: -log sigmoid(fake)."""
    return F.softplus(-fake).mean()


def lsgan_d(real: torch.Tensor, fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """Mao et al. 2017 (a=0, b=1): 0.5 (D(x) - b)^2 + 0.5 D(G(z))^2."""
    return 0.5 * (real - real_label).pow(2).mean() + 0.5 * fake.pow(2).mean()


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    """0.5 (D(G(z)) - 1)^2."""
    return 0.5 * (fake - 1.0).pow(2).mean()


def wgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The critic's negated Wasserstein estimate: E[f(fake)] - E[f(real)] (no sigmoid)."""
    return fake.mean() - real.mean()


def wgan_g(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Lim & Ye 2017 / Miyato et al. 2018: relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


D_LOSSES: dict[str, Callable[..., torch.Tensor]] = {"bce": bce_d, "lsgan": lsgan_d, "wgan_gp": wgan_d, "hinge": hinge_d}
G_LOSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "bce": bce_g, "lsgan": lsgan_g, "wgan_gp": wgan_g, "hinge": wgan_g,  # hinge's G loss is -E[D(G(z))]
}


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Gulrajani et al. 2017: E[(||grad_x critic(x)||_2 - 1)^2] at random points between real and fake.

    Differentiable (``create_graph``), so it can be added to the critic's loss.
    """
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator, device=real.device,
                       dtype=real.dtype)
    x = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()


def mean_score(loss: str, scores: torch.Tensor) -> torch.Tensor:
    """What ``d_real`` / ``d_fake`` report: D's mean probability for bce, its mean raw score otherwise."""
    return torch.sigmoid(scores).mean() if loss == "bce" else scores.mean()


WIN_MARGIN = 0.01  # bce: D's probabilities within 1% of their targets (real_label and 0) on every image
LSGAN_WIN_MARGIN = 0.1  # lsgan: D's raw outputs within 0.1 of their targets (real_label and 0) on every image


def bce_won(real: torch.Tensor, fake: torch.Tensor, real_label: float = 1.0) -> bool:
    """Every real image within WIN_MARGIN of the real target (1 - label smoothing) and every fake within
    WIN_MARGIN of 0, in probability: the D loss is at its minimum for that target."""
    return bool((torch.sigmoid(real).min() > real_label - WIN_MARGIN) & (torch.sigmoid(fake).max() < WIN_MARGIN))


def lsgan_won(real: torch.Tensor, fake: torch.Tensor, real_label: float = 1.0) -> bool:
    return bool(((real - real_label).abs().max() < LSGAN_WIN_MARGIN) & (fake.abs().max() < LSGAN_WIN_MARGIN))


D_WON: dict[str, Callable[..., bool]] = {
    # every image on the confident side: the D loss is ~0 and G's gradient vanishes or is noise. bce and lsgan
    # take real_label, as their D losses do: with one-sided smoothing D wins at the smoothed target, not at 1
    "bce": bce_won,
    "lsgan": lsgan_won,
    "hinge": lambda real, fake: bool((real.min() > 1.0) & (fake.max() < -1.0)),  # hinge loss exactly 0
    "wgan_gp": lambda real, fake: False,  # an unbounded critic never "wins"; non-finite losses still stop it
}
