"""The GAN family's training loop: ``train(cfg, reporter, data, assets=...)``.

One epoch is one pass of D over the training images (one real batch per D step, a G step every
``n_critic`` D steps), split into ``reports_per_epoch`` reports. With ``g_ema`` > 0 the generator that
is scored, saved as ``generator.*`` and exported is the running average of the trained one's weights
(the trained weights themselves are kept in ``trainer_state.pt`` for resuming). Each report's checkpoint
(:class:`trainables.reporting.Reporter`) holds G and D, ``fixed_noise.png`` (the same 64 latents every
report: mode collapse shows there) and, every ``image_every`` reports, ``samples.png``.
"""

from __future__ import annotations

import copy
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainables import metric_names as M
from trainables.checkpoint import IMAGE_SHAPE_KEY, load_state, load_weights
from trainables.optim import load_keeping_lr
from trainables.classifier import classifier_from_assets, features_and_probs
from trainables.data import ImageData
from trainables.device import epoch_generator, pick_device, rng_state, seed_everything, set_rng_state
from trainables.errors import Diverged
from trainables.fid import FeatureStats, fid_inception, load_fid_inception, sample_metrics
from trainables.gan_config import SMOOTHABLE_LOSSES, GANConfig
from trainables.images import save_grid, signed_to_unit, uint8_to_float
from trainables.losses.gan import D_LOSSES, D_WON, G_LOSSES, gradient_penalty, mean_score
from trainables.models.gan import GAN, Generator, build_gan
from trainables.reporting import Reporter

N_GRID = 64  # images in fixed_noise.png and samples.png
EVAL_SEED_OFFSET = 10_007  # eval latents are seeded: a reloaded generator reproduces its logged fid
EVAL_BATCH = 500


def train(cfg: GANConfig, reporter: Reporter, data: ImageData, resume_from: str | None = None,
          assets: dict | None = None) -> None:
    """Train ``cfg`` on ``data``, reporting ``cfg.n_reports`` times.

    Args:
        cfg: the trial's config.
        reporter: writes each report's checkpoint and reports it.
        data: the dataset in memory (subset here by ``cfg.train_size``).
        resume_from: a checkpoint directory written by an earlier call; training continues after
            its report with its optimizer states.
        assets: from :func:`trainables.classifier.prepare_assets`; without them fid, kid and class
            coverage are absent.
    Raises:
        Diverged: a non-finite loss, or D winning completely for ``cfg.d_win_patience`` D steps in a row.
    """
    seed_everything(cfg.seed)
    device = pick_device()
    data = data.subset(cfg.train_size)
    x_train = torch.from_numpy(np.array(data.x_train)).to(device)  # (N, C, H, W) uint8
    gan = build_gan(cfg, data.image_shape).to(device)
    betas = (cfg.beta1, cfg.beta2)
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=cfg.lr_generator, betas=betas)
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=cfg.lr_discriminator, betas=betas)
    evaluate = SampleEvaluator(cfg, assets, data.image_shape, device)
    steps_per_epoch = len(x_train) // cfg.batch_size
    total = cfg.n_reports
    ends = [round(k * steps_per_epoch * cfg.max_epochs / total) for k in range(1, total + 1)]
    ema = copy.deepcopy(gan.generator).requires_grad_(False) if cfg.g_ema > 0 else None
    state = {"report": 0, "step": 0, "d_won_streak": 0, "g_steps": 0}
    if resume_from is not None:
        load_weights(resume_from, gan)  # generator.*: the scored (averaged) generator
        saved = load_state(resume_from, device)
        if ema is not None:
            ema.load_state_dict(gan.generator.state_dict())
            gan.generator.load_state_dict(saved["generator_trained"])
        load_keeping_lr(opt_g, saved["opt_g"])  # the config's rates: PBT may have changed them
        load_keeping_lr(opt_d, saved["opt_d"])
        set_rng_state(saved, device)
        state = {k: int(saved[k]) for k in state}
    fixed_z = torch.randn(N_GRID, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    base = {M.N_PARAMS: sum(p.numel() for p in gan.parameters())}
    if assets:
        base[M.CLASSIFIER_ACCURACY] = assets["classifier_accuracy"]

    for k in range(state["report"] + 1, total + 1):
        start = time.perf_counter()
        means = _train_span(gan, ema, opt_g, opt_d, x_train, cfg, state, ends[k - 1], steps_per_epoch * cfg.max_epochs)
        seconds = time.perf_counter() - start
        metrics = {**base, M.EPOCH: state["step"] / steps_per_epoch, **means,
                   M.SAMPLES_PER_S: (ends[k - 1] - (ends[k - 2] if k > 1 else 0)) * cfg.batch_size / seconds}
        scored = _scored(gan, ema)
        images, sample_values = evaluate(scored.generator)
        metrics.update(sample_values)
        state["report"] = k
        trained = {} if ema is None else {"generator_trained": gan.generator.state_dict()}
        saved = {"opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), **state, **trained, **rng_state(device)}
        reporter(k, metrics, scored, cfg.to_dict(), saved, meta={IMAGE_SHAPE_KEY: list(data.image_shape)},
                 draw=partial(_write_grids, scored.generator, fixed_z, images, k % cfg.image_every == 0 or k == total))


def _scored(gan: GAN, ema: Generator | None) -> nn.Module:
    """The generator to score, save and export (the average when there is one, its batch-norm
    statistics copied from the trained generator) with the discriminator, keyed like :class:`GAN`."""
    if ema is None:
        return gan
    with torch.no_grad():
        for e, b in zip(ema.buffers(), gan.generator.buffers()):
            e.copy_(b)
    out = nn.Module()
    out.generator, out.discriminator = ema, gan.discriminator
    return out


def _train_span(gan: GAN, ema: Generator | None, opt_g, opt_d, x_train: torch.Tensor, cfg: GANConfig, state: dict, end: int,
                total_steps: int) -> dict[str, float]:
    """D steps ``state["step"] .. end - 1`` (and the G steps among them); mean losses and D scores."""
    g, d = gan.generator.train(), gan.discriminator.train()
    d_kwargs = {"real_label": 1.0 - cfg.label_smoothing} if cfg.loss in SMOOTHABLE_LOSSES else {}
    d_loss_fn, g_loss_fn = partial(D_LOSSES[cfg.loss], **d_kwargs), G_LOSSES[cfg.loss]
    d_won = partial(D_WON[cfg.loss], **d_kwargs)  # D wins at the real target it is trained to, smoothed or not
    sums = torch.zeros(4, dtype=torch.float64, device=x_train.device)  # loss_d, d_real, d_fake, loss_g
    n_d, n_g = 0, 0
    perm, perm_epoch = None, -1
    steps_per_epoch = len(x_train) // cfg.batch_size
    for step in range(state["step"], end):
        epoch, b = divmod(step, steps_per_epoch)
        if epoch != perm_epoch:  # an epoch's order depends on (seed, epoch) only, so a resume continues it
            gen = epoch_generator(cfg.seed, epoch, x_train.device)
            perm, perm_epoch = torch.randperm(len(x_train), generator=gen, device=x_train.device), epoch
        real = uint8_to_float(x_train[perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]]) * 2 - 1  # [-1, 1]
        sigma = cfg.instance_noise * max(0.0, 1.0 - step / total_steps)  # annealed linearly to 0
        z = torch.randn(len(real), cfg.latent_dim, device=real.device)
        with torch.no_grad():
            fake = g(z)
        real_in, fake_in = _noisy(real, sigma), _noisy(fake, sigma)
        s_real, s_fake = d(real_in), d(fake_in)
        loss_d = d_loss_fn(s_real, s_fake)
        if cfg.loss == "wgan_gp":
            loss_d = loss_d + cfg.gp_lambda * gradient_penalty(d, real_in, fake_in)
        _check_finite(loss_d, "D", step)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        state["d_won_streak"] = state["d_won_streak"] + 1 if d_won(s_real.detach(), s_fake.detach()) else 0
        if state["d_won_streak"] >= cfg.d_win_patience:
            raise Diverged(f"diverged: D won completely for {state['d_won_streak']} D steps in a row "
                           f"(up to step {step}); the generator gets no useful gradient")
        sums[:3] += torch.stack([loss_d.detach(), mean_score(cfg.loss, s_real.detach()),
                                 mean_score(cfg.loss, s_fake.detach())]).double()
        n_d += 1
        if (step + 1) % cfg.n_critic == 0:
            loss_g = g_loss_fn(d(_noisy(g(torch.randn_like(z)), sigma)))
            _check_finite(loss_g, "G", step)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            state["g_steps"] += 1
            if ema is not None:  # warm-up: the average starts short, as TF's ExponentialMovingAverage
                decay = min(cfg.g_ema, (1 + state["g_steps"]) / (10 + state["g_steps"]))
                with torch.no_grad():
                    torch._foreach_lerp_(list(ema.parameters()), list(g.parameters()), 1.0 - decay)
            sums[3] += loss_g.detach().double()
            n_g += 1
        state["step"] = step + 1
    loss_d, d_real, d_fake, loss_g = sums.tolist()
    out = {M.LOSS_D: loss_d / max(n_d, 1), M.D_REAL: d_real / max(n_d, 1), M.D_FAKE: d_fake / max(n_d, 1)}
    if n_g:
        out[M.LOSS_G] = loss_g / n_g
    return out


def _noisy(x: torch.Tensor, sigma: float) -> torch.Tensor:
    return x + sigma * torch.randn_like(x) if sigma > 0 else x


def _check_finite(loss: torch.Tensor, which: str, step: int) -> None:
    if not torch.isfinite(loss):
        raise Diverged(f"diverged: non-finite {which} loss ({loss.item()}) at D step {step}")


class SampleEvaluator:
    """Generates ``cfg.eval_samples`` images from seeded latents and scores them against the validation
    images (``val_fid``, ``val_kid``: what the study selects on) and the test images (``test_*``: reported)."""

    def __init__(self, cfg: GANConfig, assets: dict | None, shape: tuple[int, int, int], device: torch.device):
        self.cfg, self.device = cfg, device
        self.classifier = classifier_from_assets(assets, shape, device) if assets else None
        self.refs = {split: FeatureStats(**ref) for split, ref in assets["refs"].items()} if assets else {}

    def __call__(self, generator) -> tuple[torch.Tensor, dict[str, float]]:
        """Images ``(eval_samples, C, H, W)`` in [0, 1] (:func:`sample_images`) and their metrics."""
        images = sample_images(generator, self.cfg, self.device)
        if self.classifier is None:
            return images, {}
        features, probs = features_and_probs(self.classifier, images)
        return images, sample_metrics(features, probs, self.refs)


@torch.no_grad()
def sample_images(generator, cfg: GANConfig, device: torch.device) -> torch.Tensor:
    """The ``cfg.eval_samples`` images ``(N, C, H, W)`` in [0, 1] that a report scores, from latents seeded by
    ``cfg.seed + EVAL_SEED_OFFSET``: a reloaded generator makes them again. The generator's mode is restored."""
    was_training = generator.training
    generator.eval()
    gen = torch.Generator(device=device).manual_seed(cfg.seed + EVAL_SEED_OFFSET)
    z = torch.randn(cfg.eval_samples, cfg.latent_dim, generator=gen, device=device)
    images = torch.cat([signed_to_unit(generator(z[i:i + EVAL_BATCH])) for i in range(0, len(z), EVAL_BATCH)])
    generator.train(was_training)
    return images


def final_metrics(model: GAN, cfg: GANConfig, data: ImageData) -> dict[str, float]:
    """``Family.final_metrics`` of the GAN family: ``val_fid_inception`` and ``test_fid_inception`` of the kept
    checkpoint's samples (:func:`sample_images`, the images its report scored), or {} when
    :func:`trainables.fid.load_fid_inception` finds no FID Inception network.

    Args:
        model: the GAN restored from the kept checkpoint (its scored generator: the average with ``g_ema``).
        cfg: its ``GANConfig`` (eval_samples, latent_dim, seed).
        data: the study's data: the validation and test images are the references.
    """
    device = pick_device()
    net = load_fid_inception(device)
    if net is None:
        return {}
    return fid_inception(net, sample_images(model.generator.to(device), cfg, device), data, device)


@torch.no_grad()
def _write_grids(generator, fixed_z: torch.Tensor, images: torch.Tensor, samples: bool, directory: Path) -> None:
    """fixed_noise.png: the same 64 latents every report; samples.png: the first 64 evaluation images."""
    generator.eval()
    save_grid(signed_to_unit(generator(fixed_z)), directory / "fixed_noise.png")
    generator.train()
    if samples:
        save_grid(images[:N_GRID], directory / "samples.png")
