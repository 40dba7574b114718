"""The importance-weighted estimate of a VAE's negative log-likelihood (Burda, Grosse & Salakhutdinov,
"Importance Weighted Autoencoders", ICLR 2016, eq. 8 used as an evaluation metric):

    log p(x) ~= log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x),   z_i ~ q(z | x),

computed with logsumexp over the k samples. Its expectation is a lower bound on log p(x) that rises
monotonically with k (k = 1 is the ELBO) and reaches log p(x) as k -> infinity, so the NLL estimate is an
upper bound in expectation whose bias shrinks with k. log p(x | z) is minus the family's per-image
reconstruction loss (``RECON_LOSSES[likelihood]``), so the estimate is a likelihood in the usual sense only
where that loss is one: ``gaussian`` is a density on real pixels; ``bernoulli`` is a probability only on
binary pixels (``trainables.data.binarize``); on grey levels the Bernoulli cross-entropy is not normalised,
and :attr:`IWAEResult.binary_pixels` says which case a result is.

:data:`IWAE_TABLE1` holds the paper's Table 1 for MNIST, to be shown beside our numbers as the paper's,
never as ours: test-set NLL in nats, keyed by (model, stochastic layers, k), where k is the number of
samples per training step (github.com/yburda/iwae README: ``--model vae|iwae --k 1|5|50 --layers 1|2``);
VAE and IWAE with k = 1 are the same model. Source actually read: the README of github.com/nbip/IWAE at
commit 0216b45b26fe4ba0b76738fe80a5de99b30ef963, its columns "Test-set LLH (original paper)" (there
log-likelihoods, negated here), under "Test-set log likelihoods as estimated using k=5000 importance
samples". The paper's own text could not be reached with this project's search tools (they return only
a page's opening), so the twelve numbers are quoted second-hand from that README, not from the PDF. The
same README compares its static-binarisation runs with the paper's appendix D instead, i.e. Table 1 is
dynamically binarised MNIST (a fresh Bernoulli draw per use, as yburda/iwae's README "Remarks" describe):
only a binarised, Bernoulli-likelihood genstudy VAE is comparable with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from trainables.losses.vae import RECON_LOSSES
from trainables.vae_config import DEFAULT_K  # the paper's evaluation k

IWAE_TABLE1 = {  # NLL (nats), MNIST test set; keys: (model, stochastic layers, training k). The paper's numbers.
    ("VAE", 1, 1): 86.76, ("VAE", 1, 5): 86.47, ("VAE", 1, 50): 86.35,
    ("IWAE", 1, 1): 86.76, ("IWAE", 1, 5): 85.54, ("IWAE", 1, 50): 84.78,
    ("VAE", 2, 1): 85.33, ("VAE", 2, 5): 85.01, ("VAE", 2, 50): 84.78,
    ("IWAE", 2, 1): 85.33, ("IWAE", 2, 5): 83.89, ("IWAE", 2, 50): 82.90,
}
IWAE_TABLE1_SOURCE = ("Burda, Grosse & Salakhutdinov (ICLR 2016) Table 1, MNIST, as quoted in "
                      "github.com/nbip/IWAE README.md @ 0216b45b26fe4ba0b76738fe80a5de99b30ef963")

# Cost on CPU (benchmarks/iwae_cost.py): k decoder passes per image. At k = 5000, one torch thread, a quick-profile
# conv VAE took 0.29-0.33 s per image (width 16, latent 16, depth 3) and 0.57-0.85 s (width 32, latent 32, depth 3):
# 10,000 test images are 1-2.4 hours, so the quick profile scores a fixed random subset (subset_indices).
DEFAULT_CHUNK = 256  # decoder rows (samples x images) a pass: bounds memory; 256-512 ran fastest on CPU (4096: 1.5x slower)
LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class IWAEResult:
    """The k-sample estimate over n images.

    Attributes:
        nll: mean per-image negative log-likelihood estimate, nats.
        stderr: its standard error over images, std / sqrt(n) (0 for one image); it covers the spread
            of images and of the importance sampling together, not the bias that a finite k leaves.
        k: importance samples per image.
        n: images.
        binary_pixels: every pixel was 0 or 1 (a Bernoulli NLL is then a real likelihood).
    """

    nll: float
    stderr: float
    k: int
    n: int
    binary_pixels: bool

    def to_dict(self) -> dict:
        return {"nll": self.nll, "stderr": self.stderr, "k": self.k, "n": self.n, "binary_pixels": self.binary_pixels}


@torch.no_grad()
def iwae_log_likelihood(model, x: torch.Tensor, likelihood: str, k: int = DEFAULT_K,
                        chunk: int = DEFAULT_CHUNK, generator: torch.Generator | None = None) -> torch.Tensor:
    """The k-sample importance-weighted estimate of log p(x) for each image of one batch.

    Args:
        model: a stochastic VAE: ``encode(x) -> (mu, logvar)`` (diagonal Gaussian q(z|x)), ``decode(z) ->
            logits`` with p(z) = N(0, I), and ``likelihood_params()`` (the kwargs of the likelihood).
            It is run in eval mode (batch norm, dropout) and its mode restored afterwards.
        x: float images (B, C, H, W) in [0, 1].
        likelihood: a key of ``RECON_LOSSES`` (``bernoulli`` or ``gaussian``): the one the model was trained with.
        k: importance samples per image.
        chunk: at most this many decoder rows (samples x images) per forward pass, at least one sample of
            every image of the batch; memory grows with it, the estimate's distribution does not.
        generator: draws the z samples; the same generator state, batch and chunk give the same numbers.
    Returns:
        (B,) float64 estimates of log p(x), nats.
    Raises:
        ValueError: a deterministic autoencoder (no q(z|x) to sample), an unknown likelihood, k or chunk < 1,
            or images outside [0, 1].
    """
    _check_args(model, x, likelihood, k, chunk)
    was_training = model.training
    model.eval()
    try:
        mu, logvar = model.encode(x)  # (B, D), (B, D)
        if logvar is None:
            raise ValueError("the importance-weighted NLL needs a stochastic encoder q(z|x); "
                             "this model's encoder returned no variance (a deterministic autoencoder)")
        recon_nll = RECON_LOSSES[likelihood]
        params = model.likelihood_params()
        std = torch.exp(0.5 * logvar)
        b = len(x)
        per_pass = max(1, chunk // b)  # samples of every image per decoder pass
        chunk_lse = []  # logsumexp of each chunk's log weights, (B,) each
        done = 0
        while done < k:
            s = min(per_pass, k - done)
            eps = torch.randn((s, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)  # (s, B, D)
            z = mu + eps * std  # (s, B, D): a fresh z for every sample of every image
            logits = model.decode(z.reshape(s * b, -1))  # (s*B, C, H, W)
            xs = x.unsqueeze(0).expand(s, *x.shape).reshape(s * b, *x.shape[1:])
            log_px_z = -recon_nll(logits, xs, **params).view(s, b)  # (s, B)
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)  # (s, B): log N(z; 0, I)
            log_qz = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)  # (s, B): log N(z; mu, std^2)
            log_w = (log_px_z + log_pz - log_qz).double()
            chunk_lse.append(torch.logsumexp(log_w, dim=0))
            done += s
        return torch.logsumexp(torch.stack(chunk_lse), dim=0) - math.log(k)  # log (1/k) sum_i w_i
    finally:
        model.train(was_training)


@torch.no_grad()
def estimate_nll(model, images: torch.Tensor, likelihood: str, k: int = DEFAULT_K, chunk: int = DEFAULT_CHUNK,
                 batch: int = 64, seed: int = 0) -> tuple[torch.Tensor, IWAEResult]:
    """Per-image importance-weighted NLL over ``images`` and its summary.

    Args:
        model, likelihood, k, chunk: as for :func:`iwae_log_likelihood`.
        images: float images (N, C, H, W) in [0, 1] on the model's device.
        batch: images encoded together; with ``chunk`` it fixes the order of the draws.
        seed: seeds the one ``torch.Generator`` (on the images' device) that draws every z.
    Returns:
        ((N,) float64 NLLs in nats on the CPU, :class:`IWAEResult`).
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if len(images) == 0:
        raise ValueError("no images to evaluate")
    gen = torch.Generator(device=images.device).manual_seed(seed)
    nll = torch.cat([-iwae_log_likelihood(model, images[i:i + batch], likelihood, k, chunk, gen).cpu()
                     for i in range(0, len(images), batch)])
    n = len(nll)
    stderr = nll.std().item() / math.sqrt(n) if n > 1 else 0.0
    binary = bool(((images == 0) | (images == 1)).all())
    return nll, IWAEResult(nll=nll.mean().item(), stderr=stderr, k=k, n=n, binary_pixels=binary)


def subset_indices(total: int, size: int | None, seed: int = 0) -> torch.Tensor:
    """A fixed simple random sample of ``size`` of ``range(total)``, sorted; all of them for ``None`` or
    ``size >= total``. Random, not the first ``size``: std / sqrt(n) is the standard error of a random
    sample's mean, and a file's order need not be random. The same (total, size, seed) gives the same
    indices everywhere, so every trial is scored on the same images and paired comparisons are possible."""
    if size is None or size >= total:
        return torch.arange(total)
    if size < 1:
        raise ValueError(f"subset size must be >= 1 or None, got {size}")
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:size].sort().values


def _check_args(model, x: torch.Tensor, likelihood: str, k: int, chunk: int) -> None:
    if getattr(model, "deterministic", False):
        raise ValueError("the importance-weighted NLL needs a stochastic encoder q(z|x); a deterministic "
                         "autoencoder (deterministic=true) defines no likelihood: evaluate a VAE instead")
    if likelihood not in RECON_LOSSES:
        raise ValueError(f"likelihood must be one of {sorted(RECON_LOSSES)}, got {likelihood!r}")
    if k < 1 or chunk < 1:
        raise ValueError(f"k and chunk must be >= 1, got k={k}, chunk={chunk}")
    if not x.is_floating_point() or x.ndim != 4:
        raise ValueError(f"images must be float (B, C, H, W) in [0, 1], got {x.dtype} {tuple(x.shape)}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"images must lie in [0, 1] (uint8 images: divide by 255), got [{x.min():.3g}, {x.max():.3g}]")
