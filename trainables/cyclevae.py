"""The cycle-consistent VAE family (Jha et al., "Disentangling Factors of Variation with
Cycle-Consistent Variational Auto-Encoders", ECCV 2018): ``train(cfg, reporter, data)``.

The latent is split into z (unspecified factors; Gaussian, with a KL term) and s (the specified
factor, deterministic). Each iteration takes a forward-cycle step (swap s between two images of the
same label and reconstruct both) and a reverse-cycle step (decode one z ~ N(0, I) with two s, encode
both images again, pull the two z means together; encoder only): :mod:`trainables.cyclevae_steps`.
After every epoch, probes on z (a sample and the posterior mean) and on s predict the label
(:mod:`trainables.cyclevae_eval`); the study metric is ``val_disentangle_score``: s-probe minus z-mean-probe
accuracy on the validation split, with a z that carries under ln(number of labels) nats counted as fully
leaking (:mod:`trainables.cyclevae_score` says why).

Sources: the authors' release (github.com/ananyahjha93/cycle-consistent-vae: ``main.py``, ``networks.py``,
``training.py``, ``utils.py``, ``data_loader.py``) and, of the paper, what was readable here: the abstract,
the introduction, the forward- and reverse-cycle figures and Table 1 (the last three as images in the
release's README). The method section's equations could not be read, so every training detail is the
release's; where the two visibly differ we follow the release:

- Reverse-cycle pairs: the issue asked for s "from images of different labels"; the paper's figure says
  the two images are "randomly sampled" and the release draws them as two independent batches, so
  their labels differ only by chance (9 pairs in 10 on MNIST). We follow the release
  (``reverse_pairs="random"``); ``reverse_pairs="different"`` always draws another label.
- The paper's architecture for Sprites is not in the release (MNIST only); see our departures.

What the release does, and we do:

- Forward cycle: 2 x per-pixel MSE of each swapped reconstruction (sigmoid decoder, no likelihood
  scale) + 3 x KL(q(z|x) || N(0, I)) / (C·H·W) for each image of the pair.
- Reverse cycle: s encoded and detached, one z ~ N(0, I) decoded with both s, both images encoded
  again, 10 x the mean L1 between the two z *means* (``reparameterize(training=False)``), stepped by a
  second Adam that holds the encoder only.
- Adam (0.9, 0.999) at lr 1e-4 for both optimisers, divided by 10 after 80 epochs (StepLR), batch
  64, 100 epochs, N(0, 0.05) initialisation of Conv2d and Linear layers (not ConvTranspose2d), the
  same-label partner drawn uniformly from the label's images (itself included), the last partial
  batch dropped.

Our departures from the release:

- Validation split: MNIST's last 10,000 training images are held out (the release trains on all
  60,000); the study selects on them, and test numbers are reported, never selected on.
- Pairs and order: the release wraps its DataLoader in ``itertools.cycle``, which replays the first
  pass's batches, so its pairs and batch order are drawn once (unseeded, ``random.SystemRandom``); we
  redraw them every epoch from a generator seeded by (seed, epoch), so a resumed trial is exact.
- Instance norm keeps no running statistics (the release tracks them but never switches to eval
  mode, so it always normalises per image, as we do in training and evaluation alike).
- The reverse cycle decodes without gradients: the encoder's gradient is the release's; the
  decoder's, which the release computes and then discards, is skipped.
- The two images of a pair go through the encoder in one batch (instance norm is per image: the same
  numbers as the release's two passes).
- Probes: the release ships the probe network (``Classifier``) but no script that trains it; the
  training settings and the fitted/scored images are ours (:mod:`trainables.probes`). z is probed on
  one seeded sample of q(z|x) and on its posterior mean; the release never scores either (its only sampled z
  fed to the classifier is a shape check under ``networks.py``'s ``__main__``), and the paper does not say
  which its Table 1 used.
- The study metric (:mod:`trainables.cyclevae_score`) and z's KL per report (``val_z_kl``) are ours.
- Sprites: we use the same layers scaled to 60x60x3 images (the first convolution widened by ``width``).
- Reconstruction errors on validation and test (``val_recon_mse``, ``val_swap_mse``, ...) are ours.
- The quick profile trains 6 epochs at lr 1e-3 (the release: 100 at 1e-4); the full profile keeps 100.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from trainables import metric_names as M
from trainables.checkpoint import IMAGE_SHAPE_KEY, load_state, load_weights
from trainables.cyclevae_config import CycleVAEConfig
from trainables.cyclevae_eval import evaluate
from trainables.cyclevae_steps import forward_step, make_optimizers, reverse_step
from trainables.data.paired import SPLITS, PairedData, PairSampler, epoch_batches
from trainables.device import pick_device, seed_everything
from trainables.images import save_grid, uint8_to_float
from trainables.models.cyclevae import CycleVAE, build_cyclevae
from trainables.reporting import Reporter

N_GRID = 8  # swap grid: 8 s sources x 8 z sources; reconstructions of 4 x 8 test images


def train(cfg: CycleVAEConfig, reporter: Reporter, data: PairedData, resume_from: str | None = None,
          assets: dict | None = None) -> None:
    """Train ``cfg`` on ``data`` for ``cfg.max_epochs`` epochs, reporting after each.

    Args:
        cfg: the trial's config.
        reporter: writes each epoch's checkpoint and reports it.
        data: the paired-label data (subset here by ``cfg.train_size``).
        resume_from: a checkpoint directory of an earlier call; training continues after its epoch.
        assets: unused by this family.
    Raises:
        Diverged: a cycle loss became non-finite.
    """
    seed_everything(cfg.seed)
    device = pick_device()
    data = data.subset(cfg.train_size)
    if data.image_shape != cfg.image_shape:
        raise ValueError(f"dataset {cfg.dataset!r} has images {cfg.image_shape}, the data {data.image_shape}")
    tensors = {s: tuple(torch.from_numpy(np.array(a)).to(device) for a in data.split(s)) for s in SPLITS}  # own copies
    x_train, y_train = tensors["train"]
    model = build_cyclevae(cfg).to(device)
    fwd_opt, rev_opt = make_optimizers(model, cfg)
    n_params = sum(p.numel() for p in model.parameters())
    start_epoch = 1
    if resume_from is not None:
        load_weights(resume_from, model)
        state = load_state(resume_from, device)
        fwd_opt.load_state_dict(state["forward_optimizer"])
        rev_opt.load_state_dict(state["reverse_optimizer"])
        start_epoch = int(state["epoch"]) + 1
    sampler = PairSampler(y_train)
    s_idx, z_idx = grid_indices(data.split("test")[1])
    gen = torch.Generator(device=device)

    for epoch in range(start_epoch, cfg.max_epochs + 1):
        gen.manual_seed(cfg.seed * 100_003 + epoch)  # data order and noise: a function of (seed, epoch)
        for opt in (fwd_opt, rev_opt):
            for group in opt.param_groups:
                group["lr"] = cfg.lr_at(epoch)
        train_terms, seconds = _train_epoch(model, fwd_opt, rev_opt, x_train, sampler, cfg, gen)
        metrics = {M.EPOCH: epoch, M.N_PARAMS: n_params, M.LR: cfg.lr_at(epoch),
                   M.SAMPLES_PER_S: train_terms.pop("images") / seconds, **train_terms}
        metrics.update(evaluate(model, data, tensors, cfg))
        state = {"forward_optimizer": fwd_opt.state_dict(), "reverse_optimizer": rev_opt.state_dict(), "epoch": epoch}
        grids = epoch % cfg.image_every == 0 or epoch in (1, cfg.max_epochs)
        reporter(epoch, metrics, model, cfg.to_dict(), state, meta={IMAGE_SHAPE_KEY: list(cfg.image_shape)},
                 draw=partial(write_grids, model, tensors["test"][0], s_idx, z_idx) if grids else None)


def _train_epoch(model: CycleVAE, fwd_opt, rev_opt, x_train: torch.Tensor, sampler: PairSampler,
                 cfg: CycleVAEConfig, gen: torch.Generator) -> tuple[dict, float]:
    model.train()
    f1, f2, r1, r2 = epoch_batches(len(x_train), cfg.batch_size, sampler, cfg.reverse_pairs, gen)
    sums = torch.zeros(4, dtype=torch.float64, device=x_train.device)  # recon, kl, loss (per image), reverse l1
    start = time.perf_counter()
    for b in range(len(f1)):
        sums[:3] += forward_step(model, fwd_opt, uint8_to_float(x_train[f1[b]]), uint8_to_float(x_train[f2[b]]),
                                 cfg, gen).double()
        sums[3] += reverse_step(model, rev_opt, uint8_to_float(x_train[r1[b]]), uint8_to_float(x_train[r2[b]]),
                                cfg, gen).double()
    seconds = time.perf_counter() - start
    n = f1.numel()
    recon, kl, loss = (sums[:3] / n).tolist()
    return {M.TRAIN_SWAP_MSE: recon, M.TRAIN_KL: kl, M.TRAIN_LOSS: loss, M.TRAIN_REVERSE_L1: float(sums[3]) / len(f1),
            "images": n}, seconds


def grid_indices(labels: np.ndarray, n: int = N_GRID) -> tuple[np.ndarray, np.ndarray]:
    """Test indices for the swap grid: the first image of each of the first ``n`` labels (the s sources)
    and the second image of each (the z sources); fewer when the test set has fewer labels."""
    labels = np.asarray(labels)
    firsts = [np.flatnonzero(labels == c) for c in np.unique(labels)[:n]]
    s_idx = np.array([f[0] for f in firsts])
    z_idx = np.array([f[1] if len(f) > 1 else f[0] for f in firsts])
    return s_idx, z_idx


@torch.no_grad()
def swap_grid(model: CycleVAE, s_images: torch.Tensor, z_images: torch.Tensor) -> torch.Tensor:
    """``(k+1)^2`` images: a blank corner, the s sources along the top, the z sources down the left, and
    cell (i, j) decoded from z of row i's image and s of column j's image. Inputs and output in [0, 1]."""
    model.eval()
    k = len(s_images)
    _, _, s = model.encode(s_images)
    z, _, _ = model.encode(z_images)
    cells = model.decode(z.repeat_interleave(k, 0), s.repeat(k, 1)).view(k, k, *s_images.shape[1:])
    rows = [torch.cat([torch.full_like(s_images[:1], 0.5), s_images])]
    rows += [torch.cat([z_images[i:i + 1], cells[i]]) for i in range(k)]
    return torch.cat(rows)


@torch.no_grad()
def write_grids(model: CycleVAE, x_test_u8: torch.Tensor, s_idx: np.ndarray, z_idx: np.ndarray,
                directory: Path) -> None:
    """swap.png (see :func:`swap_grid`) and recon.png (rows alternate 32 test images and their reconstructions)."""
    model.eval()
    pick = lambda idx: uint8_to_float(x_test_u8[torch.from_numpy(idx).to(x_test_u8.device)])  # noqa: E731
    save_grid(swap_grid(model, pick(s_idx), pick(z_idx)), directory / "swap.png", nrow=len(s_idx) + 1)
    x = uint8_to_float(x_test_u8[:4 * N_GRID])
    mu, _, s = model.encode(x)
    recon = model.decode(mu, s)
    rows = torch.stack([x, recon]).view(2, -1, N_GRID, *x.shape[1:]).transpose(0, 1).reshape(-1, *x.shape[1:])
    save_grid(rows, directory / "recon.png", nrow=N_GRID)
