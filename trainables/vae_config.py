"""The VAE family's typed, flat config: the same keys are ``--set`` keys and MLflow params."""

from __future__ import annotations

from dataclasses import dataclass

from trainables.config import FlatConfig

ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
BETA_SCHEDULE_NAMES = ("constant", "linear", "cyclical")
# defined here, not beside the torch code that uses them (trainables.data.binarize, trainables.iwae), so that
# this config (and study.run's check of --set values) imports no torch
BINARIZE_MODES = ("none", "dynamic", "static")  # see trainables.data.binarize
DEFAULT_K = 5000  # the IWAE paper's evaluation k (trainables.iwae)


@dataclass(frozen=True)
class VAEConfig(FlatConfig):
    """One VAE trial. Unknown keys fail at construction (``VAEConfig(**config)``)."""

    dataset: str = "mnist"
    seed: int = 0
    lr: float = 1e-3  # Adam; 1e-3 in Kingma & Welling and pytorch/examples
    batch_size: int = 128
    max_epochs: int = 10
    arch: str = "mlp"  # mlp | conv
    depth: int = 2  # mlp: hidden layers; conv: stride-2 blocks (28 -> 14 -> 7 -> 3 -> 1)
    width: int = 512  # mlp: hidden units; conv: channels of the first block, doubling per block
    latent_dim: int = 32
    batchnorm: bool = False
    dropout: float = 0.0
    beta: float = 1.0  # KL weight; 1 is the ELBO, > 1 the beta-VAE of Higgins et al.
    beta_schedule: str = "constant"  # constant | linear (warm-up) | cyclical (Fu et al. 2019)
    warmup_epochs: int = 0  # linear: epochs to reach beta; cyclical: epochs per cycle
    likelihood: str = "bernoulli"  # bernoulli (pixels in [0, 1]) | gaussian (learned scale)
    deterministic: bool = False  # True with beta=0: a plain autoencoder, no sampling
    train_size: int | None = None  # first N training images; None: all of them
    eval_size: int | None = None  # first N validation and test images scored per report; None: all of them
    image_every: int = 2  # epochs between image grids (and always the last epoch)
    binarize: str = "none"  # none (grey levels) | dynamic (a fresh Bernoulli draw each epoch) | static
    nll_iw_k: int = DEFAULT_K  # importance samples of the NLL estimate at the study's end (Burda et al.: 5000)
    nll_iw_images: int | None = None  # images per split that estimate scores (a fixed random subset); None: all

    def __post_init__(self) -> None:
        checks = [
            (self.arch in ARCHS, f"arch must be one of {ARCHS}, got {self.arch!r}"),
            (self.likelihood in LIKELIHOODS, f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}"),
            (self.beta_schedule in BETA_SCHEDULE_NAMES,
             f"beta_schedule must be one of {BETA_SCHEDULE_NAMES}, got {self.beta_schedule!r}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.max_epochs >= 1, f"max_epochs must be >= 1, got {self.max_epochs}"),
            (self.depth >= 1 and self.width >= 1 and self.latent_dim >= 1,
             "depth, width and latent_dim must be >= 1"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.beta >= 0, f"beta must be >= 0, got {self.beta}"),
            (self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}"),
            (not self.deterministic or self.beta == 0,
             f"deterministic=true is a plain autoencoder: set beta=0 (got beta={self.beta})"),
            (self.train_size is None or self.train_size >= 1, "train_size must be >= 1 or None"),
            (self.eval_size is None or self.eval_size >= 1, "eval_size must be >= 1 or None"),
            (self.image_every >= 1, f"image_every must be >= 1, got {self.image_every}"),
            (self.binarize in BINARIZE_MODES, f"binarize must be one of {', '.join(BINARIZE_MODES)}, got {self.binarize!r}"),
            (self.nll_iw_k >= 1, f"nll_iw_k must be >= 1, got {self.nll_iw_k}"),
            (self.nll_iw_images is None or self.nll_iw_images >= 1, "nll_iw_images must be >= 1 or None"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
