"""What a DDPM trial measures at each report: denoising loss on held-out images, and DDIM samples
scored by FID / KID against the validation images (the study metric) and the test images (reported).

Everything is seeded and independent of the trial's training state: the held-out loss uses the same
images, time steps and noise in every trial (``LOSS_SEED``), and the samples start from the same
initial noises at every report of a trial (``seed + EVAL_SEED_OFFSET``), so a reloaded checkpoint
reproduces its logged numbers and the sample grids of successive reports are comparable.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import numpy as np
import torch

from trainables import metric_names as M
from trainables.classifier import classifier_from_assets, features_and_probs, prepare_assets
from trainables.data.ddpm_data import DiffusionData
from trainables.ddpm_config import DDPMConfig
from trainables.device import pick_device
from trainables.diffusion import ddim_sample, q_sample
from trainables.fid import FeatureStats, inception_features, load_fid_inception, sample_metrics, split_distances
from trainables.images import signed_to_unit, uint8_to_float
from trainables.losses.ddpm import eps_mse

EVAL_SEED_OFFSET = 10_007  # initial noises of the scored samples: seed + this
LOSS_SEED = 20_011  # held-out loss: the same (t, noise) pairs in every trial, so val_loss compares trials
EVAL_BATCH = 250
INCEPTION_REF_MAX = 10_000  # held-out images per split in the Inception reference statistics (299 px is costly)


def prepare(data: DiffusionData, data_root) -> dict:
    """``Family.prepare`` of the DDPM family: the reference statistics of the chosen feature space.

    ``classifier``: genstudy's classifier trained (or loaded from its cache) on the labelled training
    images, with the validation and test images' feature statistics (:func:`prepare_assets`).
    ``inception``: Inception-v3 pool-feature statistics of up to ``INCEPTION_REF_MAX`` validation and
    test images. ``none``: nothing (the FID metrics are then absent).
    """
    if data.fid_features == "classifier":
        return prepare_assets(data.classifier_data(), data_root)
    if data.fid_features == "inception":
        device = pick_device()
        net = load_fid_inception(device)
        refs = {}
        for split in ("val", "test"):
            x = getattr(data.images, f"x_{split}")[:INCEPTION_REF_MAX]
            refs[split] = FeatureStats.of(inception_features(net, uint8_to_float(torch.from_numpy(np.array(x)).to(device)))).to_dict()
        return {"inception_refs": refs}
    return {}


def autocast(cfg: DDPMConfig, device: torch.device):
    """Mixed precision on CUDA (``cfg.mixed_precision``); float32 elsewhere."""
    if device.type != "cuda" or cfg.mixed_precision == "none":
        return nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16 if cfg.mixed_precision == "bf16" else torch.float16)


def initial_noise(cfg: DDPMConfig, n: int, seed: int) -> torch.Tensor:
    """``n`` DDIM initial noises ``(n, C, S, S)`` from ``seed`` (CPU, so every device draws the same)."""
    return torch.randn(n, *cfg.image_shape, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def generate(model, cfg: DDPMConfig, abar: torch.Tensor, x_T: torch.Tensor, device: torch.device,
             generator_seed: int = 0, batch: int = EVAL_BATCH) -> torch.Tensor:
    """DDIM samples in [0, 1] ``(N, C, S, S)`` (float32, on ``device``) from initial noises ``x_T``.

    ``generator_seed`` seeds the per-step noise when ``cfg.ddim_eta > 0``.
    """
    model.eval()
    gen = torch.Generator(device=device).manual_seed(generator_seed)
    out = []
    with autocast(cfg, device):
        for i in range(0, len(x_T), batch):
            x = ddim_sample(model, x_T[i:i + batch].to(device), abar, cfg.ddim_steps, cfg.ddim_eta, gen)
            out.append(signed_to_unit(x.float()).clamp(0, 1))
    return torch.cat(out)


@torch.no_grad()
def heldout_loss(model, cfg: DDPMConfig, abar: torch.Tensor, images_u8: torch.Tensor) -> float:
    """Mean L_simple over ``images_u8`` at seeded time steps and noise (``LOSS_SEED``)."""
    model.eval()
    gen = torch.Generator().manual_seed(LOSS_SEED)
    t = torch.randint(0, cfg.timesteps, (len(images_u8),), generator=gen)
    noise = torch.randn(len(images_u8), *images_u8.shape[1:], generator=gen)
    total = 0.0
    with autocast(cfg, images_u8.device):
        for i in range(0, len(images_u8), EVAL_BATCH):
            x0 = uint8_to_float(images_u8[i:i + EVAL_BATCH]) * 2 - 1
            tb, nb = t[i:i + EVAL_BATCH].to(x0.device), noise[i:i + EVAL_BATCH].to(x0.device)
            total += eps_mse(model(q_sample(x0, tb, nb, abar), tb), nb).double().sum().item()
    return total / len(images_u8)


class Evaluator:
    """Scores a model (the EMA U-Net) at a report; see the module docstring."""

    def __init__(self, cfg: DDPMConfig, data: DiffusionData, assets: dict | None, abar: torch.Tensor,
                 device: torch.device):
        self.cfg, self.abar, self.device = cfg, abar, device
        d = data.images
        self.loss_images = {split: torch.from_numpy(np.array(getattr(d, f"x_{split}")[:cfg.loss_eval_images])).to(device)
                            for split in ("val", "test")}
        self.x_T = initial_noise(cfg, cfg.eval_samples, cfg.seed + EVAL_SEED_OFFSET)
        assets = assets or {}
        self.classifier = self.inception = None
        self.refs: dict[str, FeatureStats] = {}
        if cfg.fid_features == "classifier" and "classifier" in assets:
            self.classifier = classifier_from_assets(assets, cfg.image_shape, device)
            self.refs = {k: FeatureStats(**v) for k, v in assets["refs"].items()}
        elif cfg.fid_features == "inception" and "inception_refs" in assets:
            self.inception = load_fid_inception(device)
            self.refs = {k: FeatureStats(**v) for k, v in assets["inception_refs"].items()}
        self.accuracy = assets.get("classifier_accuracy") if self.classifier is not None else None

    def __call__(self, model) -> tuple[torch.Tensor, dict[str, float]]:
        """``(samples in [0, 1] (eval_samples, C, S, S), metrics)``; the model is left in eval mode."""
        metrics = {M.VAL_LOSS: heldout_loss(model, self.cfg, self.abar, self.loss_images["val"]),
                   M.TEST_LOSS: heldout_loss(model, self.cfg, self.abar, self.loss_images["test"])}
        start = time.perf_counter()
        images = generate(model, self.cfg, self.abar, self.x_T, self.device, self.cfg.seed + EVAL_SEED_OFFSET)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        metrics[M.DDIM_SAMPLES_PER_S] = len(images) / (time.perf_counter() - start)
        metrics.update(self.score(images))
        return images, metrics

    def score(self, images: torch.Tensor) -> dict[str, float]:
        """FID / KID against each split's reference statistics (and class coverage with the classifier);
        empty when the data has no feature space (the metrics are then absent, never a placeholder)."""
        if self.classifier is not None:
            features, probs = features_and_probs(self.classifier, images)
            return {**sample_metrics(features, probs, self.refs), M.CLASSIFIER_ACCURACY: self.accuracy}
        if self.inception is not None:
            return split_distances(inception_features(self.inception, images), self.refs)
        return {}
