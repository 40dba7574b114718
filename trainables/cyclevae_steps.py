"""The two optimiser steps of a cycle-consistent VAE iteration, as the authors' release takes them.

Forward cycle (``forward_step``; Adam over encoder and decoder): x1 and x2 share the specified
label; each is encoded to (z ~ q(z|x), s), x1 is decoded from (z1, s2) and x2 from (z2, s1), and the
loss is the weighted reconstruction error of both plus their weighted KL terms.

Reverse cycle (``reverse_step``; a second Adam over the encoder only): one z ~ N(0, I) per row is
decoded with the s of two independently drawn images, both images are encoded again, and the loss
is the L1 distance between the two z means. The s are detached and the decoder is not in this
optimiser, as in the release; the decoding therefore runs without gradients, which leaves the
encoder's gradient exactly as the release computes it and skips the decoder's, which the release
computes and discards.
"""

from __future__ import annotations

import torch

from trainables.cyclevae_config import CycleVAEConfig
from trainables.errors import Diverged
from trainables.losses.cyclevae import forward_cycle_loss, kl_normal, pixel_mse, reverse_cycle_loss
from trainables.models.cyclevae import CycleVAE, n_pixels, reparameterize


def forward_terms(model: CycleVAE, x1: torch.Tensor, x2: torch.Tensor, generator: torch.Generator | None = None):
    """Per-pair (recon_1, recon_2, kl_1, kl_2), each (B,): x1 from (z1, s2), x2 from (z2, s1)."""
    b = len(x1)
    mu, logvar, s = model.encode(torch.cat([x1, x2]))  # one pass: instance norm is per image
    z = reparameterize(mu, logvar, generator)
    swapped = model.decode(z, torch.cat([s[b:], s[:b]]))
    recon = pixel_mse(swapped, torch.cat([x1, x2]))
    kl = kl_normal(mu, logvar)
    return recon[:b], recon[b:], kl[:b], kl[b:]


def forward_step(model: CycleVAE, opt: torch.optim.Optimizer, x1: torch.Tensor, x2: torch.Tensor,
                 cfg: CycleVAEConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """One forward-cycle update. Returns the detached sums over the batch of (recon, kl, loss) per image
    (recon and kl averaged over the pair's two images)."""
    r1, r2, k1, k2 = forward_terms(model, x1, x2, generator)
    loss = forward_cycle_loss(r1, r2, k1, k2, n_pixels(x1.shape[1:]), cfg.recon_weight, cfg.kl_weight)
    if not torch.isfinite(loss):
        raise Diverged("diverged: non-finite forward-cycle loss")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    b = len(x1)
    return torch.stack([(r1 + r2).sum() / 2, (k1 + k2).sum() / 2, loss * b]).detach()


def reverse_terms(model: CycleVAE, z: torch.Tensor, s1: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
    """The reverse-cycle L1 between the z means of g(z, s1) and g(z, s2), with gradients to the encoder only."""
    with torch.no_grad():
        decoded = model.decode(torch.cat([z, z]), torch.cat([s1, s2]))  # (2B, C, H, W)
    mu, _, _ = model.encode(decoded)
    return reverse_cycle_loss(mu[:len(z)], mu[len(z):])


def reverse_step(model: CycleVAE, opt: torch.optim.Optimizer, x1: torch.Tensor, x2: torch.Tensor,
                 cfg: CycleVAEConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """One reverse-cycle update of the encoder (``opt`` holds the encoder's parameters only).
    Returns the detached unweighted L1."""
    with torch.no_grad():
        _, _, s = model.encode(torch.cat([x1, x2]))
    z = torch.randn(len(x1), model.z_dim, generator=generator, device=x1.device, dtype=x1.dtype)
    l1 = reverse_terms(model, z, s[:len(x1)], s[len(x1):])
    loss = cfg.reverse_weight * l1
    if not torch.isfinite(loss):
        raise Diverged("diverged: non-finite reverse-cycle loss")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return l1.detach()


def make_optimizers(model: CycleVAE, cfg: CycleVAEConfig) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """(forward: encoder + decoder, reverse: encoder only), each Adam with its own moments as in the release."""
    kw = {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2)}
    return (torch.optim.Adam(model.parameters(), **kw),
            torch.optim.Adam(model.encoder.parameters(), **kw))
