"""The VAE family's training loop: ``train(cfg, reporter, data)``, one report per epoch.

Each report's checkpoint (:class:`trainables.reporting.Reporter`) holds, at the image cadence, PNG grids
(``recon.png``, ``samples.png``; ``recon_before.png`` at the first epoch: the untrained model).
"""

from __future__ import annotations

import math
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from trainables import metric_names as M
from trainables.checkpoint import IMAGE_SHAPE_KEY, load_state, load_weights
from trainables.optim import load_keeping_lr
from trainables.data import ImageData
from trainables.data.binarize import binarize_eval, binarize_train
from trainables.device import epoch_generator, pick_device, rng_state, seed_everything, set_rng_state
from trainables.errors import Diverged
from trainables.images import save_grid, uint8_to_float
from trainables.losses.vae import BETA_SCHEDULES, RECON_LOSSES, kl_normal
from trainables.models.vae import VAE, build_vae
from trainables.reporting import Reporter
from trainables.vae_config import VAEConfig

EVAL_BATCH = 1000
EVAL_SEED_OFFSET = 10_007  # eval noise is seeded, so a reloaded model reproduces its logged numbers
N_RECON, N_SAMPLES = 32, 64


def loss_terms(model: VAE, x: torch.Tensor, likelihood: str, generator: torch.Generator | None = None):
    """Per-image (recon, kl) for a batch; kl is zeros for a deterministic autoencoder."""
    logits, mu, logvar, _ = model(x, generator)
    recon = RECON_LOSSES[likelihood](logits, x, **model.likelihood_params())
    kl = torch.zeros_like(recon) if logvar is None else kl_normal(mu, logvar)
    return recon, kl


@torch.no_grad()
def evaluate(model: VAE, images_u8: torch.Tensor, cfg: VAEConfig) -> dict[str, float]:
    """Mean per-image recon, kl and nelbo (nats) over ``images_u8`` with seeded posterior noise."""
    model.eval()
    device = images_u8.device
    gen = torch.Generator(device=device).manual_seed(cfg.seed + EVAL_SEED_OFFSET)
    totals = torch.zeros(2, dtype=torch.float64)
    for i in range(0, len(images_u8), EVAL_BATCH):
        recon, kl = loss_terms(model, uint8_to_float(images_u8[i:i + EVAL_BATCH]), cfg.likelihood, gen)
        totals += torch.stack([recon.sum(), kl.sum()]).double().cpu()
    recon, kl = (totals / len(images_u8)).tolist()
    return {"recon": recon, "kl": kl, "nelbo": recon + kl}


def split_metrics(split: str, values: dict[str, float], beta: float, deterministic: bool) -> dict[str, float]:
    """``{split}_recon``, and for a VAE ``{split}_kl``, ``{split}_loss`` (with the beta in force) and ``{split}_nelbo``."""
    recon, kl, loss, nelbo = M.VAE_SPLIT_METRICS[split]
    if deterministic:
        return {recon: values["recon"]}
    return {recon: values["recon"], kl: values["kl"], loss: values["recon"] + beta * values["kl"], nelbo: values["nelbo"]}


def eval_images(data: ImageData, split: str, binarize: str, device: torch.device | str = "cpu") -> torch.Tensor:
    """The validation or test images as every trial and the final NLL estimate see them: uint8 (N, C, H, W),
    binarised once with the split's fixed seed unless ``binarize`` is ``none``. The validation split selects;
    the test split is reported, never selected on."""
    images = torch.from_numpy(np.array(data.x_val if split == "val" else data.x_test))
    return binarize_eval(images, binarize, split).to(device)


def train(cfg: VAEConfig, reporter: Reporter, data: ImageData, resume_from: str | None = None,
          assets: dict | None = None) -> None:
    """Train ``cfg`` on ``data`` for ``cfg.max_epochs`` epochs, reporting after each.

    Args:
        cfg: the trial's config.
        reporter: writes each epoch's checkpoint and reports it.
        data: the dataset in memory (already subset by the caller or by ``cfg.train_size``).
        resume_from: a checkpoint directory written by an earlier call; training continues after
            its epoch with its optimizer state.
        assets: unused by the VAE family (see ``Family.prepare``).
    Raises:
        Diverged: the training loss became non-finite.
    """
    seed_everything(cfg.seed)
    device = pick_device()
    data = data.subset(cfg.train_size)
    x_train = torch.from_numpy(np.array(data.x_train)).to(device)  # (N, C, H, W) uint8, grey: drawn afresh per epoch
    x_val, x_test = (eval_images(data, split, cfg.binarize, device) for split in ("val", "test"))
    model = build_vae(cfg, data.image_shape).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)  # one kernel per step: +27% samples/s on CPU
    n_params = sum(p.numel() for p in model.parameters())
    start_epoch = 1
    if resume_from is not None:
        load_weights(resume_from, model)
        state = load_state(resume_from, device)
        load_keeping_lr(opt, state["optimizer"])  # the config's rate: PBT may have changed it
        set_rng_state(state, device)
        start_epoch = int(state["epoch"]) + 1

    fixed_x = uint8_to_float(x_test[:N_RECON])
    x_val, x_test = x_val[:cfg.eval_size], x_test[:cfg.eval_size]  # what each report scores (None: all)
    fixed_z = torch.randn(N_SAMPLES, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    recon_before = _reconstruct(model, fixed_x) if start_epoch == 1 else None
    schedule = BETA_SCHEDULES[cfg.beta_schedule]

    for epoch in range(start_epoch, cfg.max_epochs + 1):
        x_epoch = binarize_train(x_train, cfg.binarize, cfg.seed, epoch)  # x_train itself for binarize=none
        train_terms, seconds, beta = _train_epoch(model, opt, x_epoch, cfg, schedule, epoch)
        metrics = {M.EPOCH: epoch, M.N_PARAMS: n_params, M.SAMPLES_PER_S: len(x_train) / seconds,
                   M.TRAIN_RECON: train_terms["recon"]}
        if not cfg.deterministic:
            metrics.update({M.BETA: beta, M.TRAIN_KL: train_terms["kl"], M.TRAIN_LOSS: train_terms["loss"]})
        for split, images in (("val", x_val), ("test", x_test)):
            metrics.update(split_metrics(split, evaluate(model, images, cfg), beta, cfg.deterministic))
        grids = epoch % cfg.image_every == 0 or epoch == cfg.max_epochs or epoch == 1
        state = {"optimizer": opt.state_dict(), "epoch": epoch, **rng_state(device)}
        reporter(epoch, metrics, model, cfg.to_dict(), state, meta={IMAGE_SHAPE_KEY: list(data.image_shape)},
                 draw=partial(_write_grids, model, fixed_x, fixed_z, recon_before if epoch == 1 else None) if grids
                 else None)


def _train_epoch(model, opt, x_train, cfg: VAEConfig, schedule, epoch: int) -> tuple[dict, float, float]:
    model.train()
    n = len(x_train)
    perm = torch.randperm(n, generator=epoch_generator(cfg.seed, epoch, x_train.device), device=x_train.device)
    sums = torch.zeros(3, dtype=torch.float64, device=x_train.device)  # recon, kl, loss
    seen, beta = 0, 0.0
    start = time.perf_counter()
    n_batches = math.ceil(n / cfg.batch_size)
    for b in range(n_batches):
        idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
        if len(idx) < 2 and cfg.batchnorm:  # batch norm cannot train on one image
            continue
        beta = 0.0 if cfg.deterministic else schedule(cfg.beta, epoch - 1 + b / n_batches, cfg.warmup_epochs)
        x = uint8_to_float(x_train[idx])
        recon, kl = loss_terms(model, x, cfg.likelihood)
        loss = (recon + beta * kl).mean()
        if not torch.isfinite(loss):
            raise Diverged(f"diverged: non-finite loss at epoch {epoch}, batch {b}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sums += torch.stack([recon.sum(), kl.sum(), (recon + beta * kl).sum()]).detach().double()
        seen += len(idx)
    seconds = time.perf_counter() - start
    recon, kl, total = (sums / seen).tolist()
    return {"recon": recon, "kl": kl, "loss": total}, seconds, beta


@torch.no_grad()
def _reconstruct(model: VAE, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    mu, _ = model.encode(x)
    return model.mean_image(model.decode(mu))


@torch.no_grad()
def _write_grids(model: VAE, fixed_x, fixed_z, recon_before, directory: Path) -> None:
    """recon.png: rows alternate test images and their reconstructions; samples.png: 64 prior draws."""
    recon = _reconstruct(model, fixed_x)
    pairs = torch.stack([fixed_x, recon], dim=0)  # (2, 32, C, H, W)
    rows = pairs.view(2, 4, 8, *fixed_x.shape[1:]).transpose(0, 1).reshape(-1, *fixed_x.shape[1:])
    save_grid(rows, directory / "recon.png")
    if recon_before is not None:
        save_grid(recon_before, directory / "recon_before.png")
    if not model.deterministic:
        save_grid(model.mean_image(model.decode(fixed_z)), directory / "samples.png")
