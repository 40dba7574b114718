"""The DDPM family's training loop: ``train(cfg, reporter, data, assets=...)``.

Ho et al. (2020), Algorithm 1: x_0 from the training images scaled to [-1, 1] (optionally flipped),
t uniform in 0 .. T-1, ε ~ N(0, I), one Adam step on L_simple = mean (ε - ε_θ(x_t, t))², with the
learning rate warmed up linearly over ``warmup_steps``, the gradient norm clipped at ``grad_clip``,
and an exponential moving average of the weights (``ema_decay``, warmed up as
min(decay, (1 + n) / (10 + n)) after n steps). The EMA network is the one scored, saved as
``model.safetensors`` and sampled from; the trained weights are kept in ``trainer_state.pt`` for
resuming. On CUDA the forward pass runs under autocast (``mixed_precision``; fp16 with a gradient
scaler). Everything random in step n (time steps, noise, flips, dropout) comes from a generator seeded
with (seed, n), and the order of an epoch from (seed, epoch), so a resumed trial continues exactly.

Each report's checkpoint (:class:`trainables.reporting.Reporter`) holds the EMA network and ``samples.png``:
the first 64 scored DDIM samples, from the same initial noises at every report.

diffusers is not used at runtime: the schedules, forward noising and DDIM are ~60 lines of pure functions
(:mod:`trainables.diffusion`) that the tests check against diffusers' ``DDPMScheduler`` and
``DDIMScheduler`` (a dev dependency only). Written out, the sampler takes batched initial noises (which
the interpolations slerp) and clips x_0 as improved-diffusion does, with no stateful scheduler object,
and genstudy needs no diffusers / huggingface_hub at run time.

Departures from Ho et al. (2020) and their released code (hojonathanho/diffusion), all config keys
unless stated: the studies' U-Nets are far smaller (quick: 16 base channels, one residual block per
level, multipliers 1,2,4 with attention at 8 px, where theirs is at 16 px: 0.69M parameters, against 35.7M); group norm keeps at
least 4 channels per group (fixed; Ho et al. always use 32 groups, the same from 128 channels on);
short runs use Adam at 1e-3 to 2e-3 (Ho: 2e-4), a 100-step warm-up (5,000), batch 32 (128), EMA decay
0.995 to 0.999 (0.9999) warmed up as min(decay, (1 + n) / (10 + n)), dropout 0 to 0.1 (0.1 on CIFAR-10) and
about 8,000 steps (800k); the cosine schedule (Nichol & Dhariwal 2021) and the Min-SNR-5 weighting
(Hang et al. 2023) are options beside Ho et al.'s linear schedule and L_simple; samples come from DDIM
(Song et al. 2021) in 10 to 50 steps with x_0 clipped to [-1, 1] at each step (the ermongroup/ddim
release does not clip), not from the 1,000-step ancestral sampler (the quick profile takes DDIM's
η = 1, ancestral, in 50 steps: η = 0 left speckled backgrounds on its short-trained U-Nets); FID is computed in genstudy's
classifier's features where the images have labels, in the FID Inception network's otherwise.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch

from trainables import metric_names as M
from trainables.checkpoint import IMAGE_SHAPE_KEY, load_state, load_weights
from trainables.data.ddpm_data import DiffusionData
from trainables.ddpm_config import DDPMConfig
from trainables.ddpm_eval import Evaluator, autocast
from trainables.device import pick_device, seed_everything
from trainables.diffusion import alphas_cumprod, q_sample
from trainables.errors import Diverged
from trainables.images import save_grid, uint8_to_float
from trainables.losses.ddpm import LOSS_WEIGHTS, eps_mse, snr
from trainables.models.unet import UNet, build_unet
from trainables.reporting import Reporter

N_GRID = 64  # images in samples.png


def train(cfg: DDPMConfig, reporter: Reporter, data: DiffusionData, resume_from: str | None = None,
          assets: dict | None = None) -> None:
    """Train ``cfg`` on ``data``'s training split, reporting ``cfg.n_reports`` times.

    Args:
        cfg: the trial's config.
        reporter: writes each report's checkpoint and reports it.
        data: from :func:`trainables.data.ddpm_data.load_ddpm_data` (subset here by ``cfg.train_size``).
        resume_from: a checkpoint directory written by an earlier call; training continues after it.
        assets: from :func:`trainables.ddpm_eval.prepare`; without them the FID metrics are absent.
    Raises:
        Diverged: a non-finite training loss.
    """
    seed_everything(cfg.seed)
    device = pick_device()
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    x_train = torch.from_numpy(np.array(data.images.subset(cfg.train_size).x_train)).to(device)  # (N, C, S, S) uint8
    unet = build_unet(cfg).to(device)
    ema = copy.deepcopy(unet).requires_grad_(False).eval()
    opt = torch.optim.Adam(unet.parameters(), lr=cfg.lr, fused=True)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and cfg.mixed_precision == "fp16")
    abar = alphas_cumprod(cfg.schedule, cfg.timesteps).to(device)
    evaluate = Evaluator(cfg, data, assets, abar, device)
    batch = min(cfg.batch_size, len(x_train))
    steps_per_epoch = len(x_train) // batch
    total = cfg.n_reports
    ends = [round(k * steps_per_epoch * cfg.max_epochs / total) for k in range(1, total + 1)]
    state = {"report": 0, "step": 0}
    if resume_from is not None:
        load_weights(resume_from, ema)
        saved = load_state(resume_from, device)
        unet.load_state_dict(saved["unet_trained"])
        opt.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        state = {k: int(saved[k]) for k in state}
    base = {M.N_PARAMS: sum(p.numel() for p in unet.parameters())}

    for k in range(state["report"] + 1, total + 1):
        start = time.perf_counter()
        loss = _train_span(unet, ema, opt, scaler, x_train, abar, cfg, state, ends[k - 1], batch)
        images_trained = (ends[k - 1] - (ends[k - 2] if k > 1 else 0)) * batch
        metrics = {**base, M.EPOCH: state["step"] / steps_per_epoch, M.TRAIN_LOSS: loss,
                   M.LR: opt.param_groups[0]["lr"],
                   M.SAMPLES_PER_S: images_trained / (time.perf_counter() - start)}
        samples, scores = evaluate(ema)
        metrics.update(scores)
        state["report"] = k
        saved = {"unet_trained": unet.state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
                 **state}
        reporter(k, metrics, ema, cfg.to_dict(), saved, meta={IMAGE_SHAPE_KEY: list(cfg.image_shape)},
                 draw=lambda folder: save_grid(samples[:N_GRID], folder / "samples.png"))


def _train_span(unet: UNet, ema: UNet, opt, scaler, x_train: torch.Tensor, abar: torch.Tensor, cfg: DDPMConfig,
                state: dict, end: int, batch: int) -> float:
    """Steps ``state["step"] .. end - 1``; returns their mean training loss."""
    unet.train()
    device = x_train.device
    steps_per_epoch = len(x_train) // batch
    params, ema_params = list(unet.parameters()), list(ema.parameters())
    total, n = torch.zeros((), dtype=torch.float64, device=device), 0
    perm, perm_epoch = None, -1
    for step in range(state["step"], end):
        epoch, b = divmod(step, steps_per_epoch)
        if epoch != perm_epoch:  # an epoch's order depends on (seed, epoch) only, so a resume continues it
            gen = torch.Generator(device=device).manual_seed(cfg.seed * 100_003 + epoch)
            perm, perm_epoch = torch.randperm(len(x_train), generator=gen, device=device), epoch
        torch.manual_seed(cfg.seed * 1_000_003 + step)  # t, noise, flips and dropout of this step
        x0 = uint8_to_float(x_train[perm[b * batch:(b + 1) * batch]]) * 2 - 1  # [-1, 1]
        if cfg.hflip:
            x0 = torch.where(torch.rand(len(x0), 1, 1, 1, device=device) < 0.5, x0.flip(3), x0)
        t = torch.randint(0, cfg.timesteps, (len(x0),), device=device)
        noise = torch.randn_like(x0)
        with autocast(cfg, device):
            eps = unet(q_sample(x0, t, noise, abar), t)
        loss = (eps_mse(eps, noise) * LOSS_WEIGHTS[cfg.loss_weighting](snr(abar[t]))).mean()
        if not torch.isfinite(loss):
            raise Diverged(f"diverged: non-finite training loss ({loss.item()}) at step {step}")
        for group in opt.param_groups:
            group["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else cfg.lr
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        decay = min(cfg.ema_decay, (2 + step) / (11 + step))  # (1 + n) / (10 + n) after n = step + 1 updates
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        total += loss.detach().double()
        n += 1
        state["step"] = step + 1
    return total.item() / max(n, 1)
