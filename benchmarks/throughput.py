"""Training throughput: genstudy's in-memory VAE epoch against the common DataLoader loop.

The reference is pytorch/examples' VAE recipe: torchvision's MNIST with a per-image ``ToTensor``
transform through a ``DataLoader``, the 784-400-20 MLP, Adam 1e-3, batch 128, loss = BCE (sum) +
KL. Both train the same module (``build_vae``) with the same threads and seed; both are scored
with the same seeded test-set evaluation.

Beside it, each model family's training rate in the model its study's quick profile trains (the
study's first baseline configuration, shortened with ``--set``-style overrides): rates only, as a
trial reports them (``samples_per_s``: training images over the seconds of the training spans).
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import torch

from benchmarks.stats import Measure
from study.resolve import resolve
from trainables import metric_names as M
from trainables.data import load_dataset
from trainables.families import FAMILIES
from trainables.losses.vae import bernoulli_nll, kl_normal
from trainables.models.vae import build_vae
from trainables.vae import evaluate
from trainables.vae_config import VAEConfig

EXAMPLES_VAE = dict(arch="mlp", depth=1, width=400, latent_dim=20, lr=1e-3, batch_size=128)


def reference_epochs(data_root: str, cfg: VAEConfig, epochs: int) -> tuple[float, float]:
    """pytorch/examples' loop; returns (training samples per second, test nelbo)."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    torch.manual_seed(cfg.seed)
    train = datasets.MNIST(data_root, train=True, download=False, transform=transforms.ToTensor())
    # the images genstudy trains on: the first 50,000 (the last 10,000 are its validation split), or the
    # first train_size of them
    n_train = len(load_dataset("mnist", data_root).x_train)
    train = Subset(train, range(min(cfg.train_size or n_train, n_train)))
    loader = DataLoader(train, batch_size=cfg.batch_size, shuffle=True)
    model = build_vae(cfg, (1, 28, 28))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    seconds = 0.0
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        for x, _ in loader:
            logits, mu, logvar, _ = model(x)
            loss = (bernoulli_nll(logits, x) + kl_normal(mu, logvar)).sum()  # pytorch/examples: summed
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds += time.perf_counter() - start
    test = torch.from_numpy(load_dataset("mnist", data_root).x_test[:cfg.eval_size])  # what genstudy's fit scores
    return epochs * len(train) / seconds, evaluate(model, test, cfg)["nelbo"]


def genstudy_epochs(data_root: str, cfg: VAEConfig) -> tuple[float, float]:
    """genstudy's ``fit``; returns (mean training samples per second, test nelbo at the end)."""
    data = load_dataset(cfg.dataset, data_root)
    reports: list[dict] = []
    FAMILIES["vae"].fit(cfg, lambda m, d: reports.append(m), data)
    rate = len(reports) / sum(1 / r["samples_per_s"] for r in reports)  # equal-size spans: samples / seconds
    return rate, reports[-1]["test_nelbo"]


def dcgan_rate(data_root: str, train_size: int) -> float:
    """Real images per second through one D step (and G every n_critic) of the default DCGAN."""
    from trainables.classifier import prepare_assets
    from trainables.gan_config import GANConfig

    data = load_dataset("mnist", data_root)
    assets = prepare_assets(data, data_root)  # the cached FID classifier (trained once if missing)
    reports: list[dict] = []
    FAMILIES["gan"].fit(GANConfig(max_epochs=1, train_size=train_size, eval_samples=500), lambda m, d: reports.append(m),
            data, assets=assets)
    return len(reports) / sum(1 / r["samples_per_s"] for r in reports)  # equal-size spans: samples / seconds


# (label, study, its quick profile's first baseline shortened by these overrides: quick mode, full mode, whether the
# fit needs the family's prepared assets). Quick mode only checks that each row is measured: a few batches, and the
# cycle-consistent VAE's probes (80 % of its CPU time at their defaults) on 200 encodings for one pass. DANN's prepare
# trains the train-on-target reference (300 steps or more on a data root without it cached: ~15 CPU-s); its two
# accuracies are only logged beside each report, so its rate is measured without it
FAMILY_ROWS = (
    ("DANN, MNIST → MNIST-M (`dann_mnist_m` quick), source + target images/s", "dann_mnist_m",
     ["max_epochs=1", "reports_per_epoch=1", "source_train_size=2000", "eval_size=200"],
     ["max_epochs=1", "reports_per_epoch=2"], False),
    ("cycle-consistent VAE, MNIST 16/16 (`cyclevae_sweep` quick), images/s", "cyclevae_sweep",
     ["max_epochs=1", "train_size=512", "eval_size=200", "probe_train_size=200", "probe_epochs=1"], ["max_epochs=1"],
     True),
    # the DDPM studies' quick U-Net; ddpm_loss_sweep trains it without FID (no classifier to train first)
    ("DDPM U-Net, MNIST 32 px (`ddpm_loss_sweep` quick: the DDPM studies' quick U-Net), images/s", "ddpm_loss_sweep",
     ["max_epochs=1", "reports_per_epoch=1", "train_size=96", "eval_samples=16", "ddim_steps=2",
      "loss_eval_images=16"], ["max_epochs=1", "reports_per_epoch=2", "train_size=6400", "eval_samples=64",
                               "ddim_steps=5"], True),
)


def study_rate(data_root: str, study: str, sets: list[str], prepare: bool = True) -> float:
    """Training samples per second of ``study``'s quick-profile baseline with ``sets`` applied, through
    the family's own ``load_data`` / ``prepare`` (unless ``prepare`` is False) / ``fit`` (no Ray)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # resolve's dry run creates throwaway studies
    r = resolve(study, "quick", sets)
    config = r.complete(r.sample(optuna.trial.FixedTrial(dict(r.study.baselines[0]))))
    root = Path(data_root)
    data = r.family.load_data(r.fixed, root)
    assets = r.family.prepare(data, root) if prepare and r.family.prepare else None
    reports: list[dict] = []
    r.family.fit(r.family.make_config(config), lambda m, d: reports.append(m), data, assets=assets)
    return len(reports) / sum(1 / m[M.SAMPLES_PER_S] for m in reports)  # equal-size spans: samples / seconds


def run(data_root: str, quick: bool, threads: int) -> dict:
    torch.set_num_threads(threads)
    # quick: 8 batches, scored on 1,000 images a split (the harness only)
    epochs, repeats, size, scored = (1, 1, 1_000, 1_000) if quick else (2, 3, None, None)
    cfg = VAEConfig(**EXAMPLES_VAE, max_epochs=epochs, train_size=size, eval_size=scored)
    ref_rate, ref_nelbo = Measure("reference", "samples/s"), Measure("reference", "nats")
    gen_rate, gen_nelbo = Measure("genstudy", "samples/s"), Measure("genstudy", "nats")
    for _ in range(repeats):
        rate, nelbo = reference_epochs(data_root, cfg, epochs)
        ref_rate.values.append(rate)
        ref_nelbo.values.append(nelbo)
        rate, nelbo = genstudy_epochs(data_root, cfg)
        gen_rate.values.append(rate)
        gen_nelbo.values.append(nelbo)
    conv = VAEConfig(arch="conv", depth=3, width=32, latent_dim=32, max_epochs=1, train_size=1_000 if quick else None,
                     eval_size=1_000 if quick else None)  # quick: a rate from 8 batches, scored on 1,000 images a split
    conv_rate = Measure("conv VAE", "samples/s", [genstudy_epochs(data_root, conv)[0]])
    gan_rate = Measure("DCGAN", "images/s", [dcgan_rate(data_root, 640 if quick else 20_000)])  # quick: 10 D steps
    families = [(label, Measure(study, "images/s", [study_rate(data_root, study, short if quick else full, prepare)]))
                for label, study, short, full, prepare in FAMILY_ROWS]
    return {"epochs": epochs, "threads": threads, "ref_rate": ref_rate, "gen_rate": gen_rate,
            "ref_nelbo": ref_nelbo, "gen_nelbo": gen_nelbo, "conv_rate": conv_rate, "gan_rate": gan_rate,
            "families": families,
            "speedup": Measure("speed-up", "x", [g / r for g, r in zip(gen_rate.values, ref_rate.values)])}
