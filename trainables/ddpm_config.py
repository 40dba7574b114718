"""The DDPM family's typed, flat config: the same keys are ``--set`` keys and MLflow params.

Tuple-valued settings are comma-separated strings (``channel_mult="1,2,2,2"``,
``attention_resolutions="16"``), so ``--set`` and MLflow params carry them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainables.config import FlatConfig

DATASETS = ("mnist", "stl10", "image_folder")
IMAGE_SIZES = (32, 48, 64, 96, 128)
SCHEDULES = ("linear", "cosine")
LOSS_WEIGHTINGS = ("simple", "min_snr")
FID_FEATURES = ("classifier", "inception", "none")
PRECISIONS = ("bf16", "fp16", "none")
MIN_RESOLUTION = 4  # the U-Net's lowest level is at least 4 px (Ho et al.: 32 px -> 4 px)


def parse_ints(text: str) -> tuple[int, ...]:
    """``"1,2,2"`` -> ``(1, 2, 2)``; ``""`` -> ``()``."""
    return tuple(int(part) for part in text.split(",") if part.strip())


def resolutions(image_size: int, levels: int) -> tuple[int, ...]:
    """The side of the U-Net's feature maps at each level: ``64, 4`` -> ``(64, 32, 16, 8)``."""
    return tuple(image_size // 2**i for i in range(levels))


def attention_level(image_size: int, levels: int) -> str:
    """The resolution in (8, 16] px of a U-Net on ``image_size`` images, as ``attention_resolutions``:
    Ho et al. attend at 16 px for 32-256 px images; 48 and 96 px U-Nets have 12 px instead. Empty when
    the U-Net never gets that small."""
    return ",".join(str(r) for r in resolutions(image_size, levels) if 8 < r <= 16)


def _raise_first(checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


@dataclass(frozen=True)
class DataSpec:
    """The config keys that choose the data (fixed for a whole study: data loads once per study). A missing
    ``data_dir`` is the data loader's to report (a profile may leave it to ``--set``)."""

    dataset: str = "mnist"
    data_dir: str | None = None
    image_size: int = 32
    fid_features: str = "classifier"

    def __post_init__(self) -> None:
        _raise_first([
            (self.dataset in DATASETS, f"dataset must be one of {DATASETS}, got {self.dataset!r}"),
            (self.image_size in IMAGE_SIZES, f"image_size {self.image_size} is not supported; fix: --set image_size="
                                             f"one of {', '.join(map(str, IMAGE_SIZES))}"),
            (self.dataset != "mnist" or self.image_size == 32,
             f"dataset=mnist is padded to 32 px, got image_size={self.image_size}; fix: --set image_size=32"),
            (self.fid_features in FID_FEATURES, f"fid_features must be one of {FID_FEATURES}, got {self.fid_features!r}"),
        ])


@dataclass(frozen=True)
class DDPMConfig(FlatConfig):
    """One DDPM trial. Unknown keys fail at construction (``DDPMConfig(**config)``).

    One epoch is one pass over the training images; a trial reports ``reports_per_epoch`` times per
    epoch (one report is one ASHA time unit) and scores ``eval_samples`` DDIM samples at every report
    (the study metric must be in every report). Defaults are Ho et al.'s CIFAR-10 model (35.7M
    parameters: over the 25M cap; the studies use smaller ones).
    """

    dataset: str = "mnist"  # mnist (padded to 32 px) | stl10 (torchvision's binary files) | image_folder
    data_dir: str | None = None  # image_folder: the folder (required); stl10: the folder holding stl10_binary/
    image_size: int = 32  # side of the square images, resized and centre-cropped once
    fid_features: str = "classifier"  # classifier (needs labels) | inception (needs its weights on disk) | none
    hflip: bool = False  # random horizontal flips while training (Ho et al. flip CIFAR-10; never MNIST digits)
    seed: int = 0
    lr: float = 2e-4  # Adam; Ho et al.'s CIFAR-10 value
    batch_size: int = 128  # Ho et al.
    max_epochs: int = 10
    reports_per_epoch: int = 1
    train_size: int | None = None  # first N training images; None: all of them
    base_channels: int = 128  # channels of the first level; Ho et al. 128 at 32 px
    channel_mult: str = "1,2,2,2"  # per-level multipliers of base_channels; one downsampling between levels
    num_res_blocks: int = 2  # residual blocks per level (the decoder has one more)
    attention_resolutions: str = "16"  # feature-map sides (px) with self-attention; "" for none
    dropout: float = 0.1  # Ho et al. CIFAR-10
    schedule: str = "linear"  # linear (Ho et al.: 1e-4 .. 0.02) | cosine (Nichol & Dhariwal 2021)
    timesteps: int = 1000  # T in Ho et al.
    loss_weighting: str = "simple"  # simple (Ho et al.'s L_simple) | min_snr (Hang et al. 2023, gamma 5)
    ema_decay: float = 0.9999  # Ho et al.; warmed up as min(decay, (1 + n) / (10 + n)) after n steps
    warmup_steps: int = 5000  # linear learning-rate warm-up; Ho et al. 5000
    grad_clip: float = 1.0  # global gradient-norm clip; Ho et al. 1.0
    ddim_steps: int = 50  # DDIM sampling steps (Song et al. 2021: 50 is close to 1000-step DDPM FID)
    ddim_eta: float = 0.0  # 0: deterministic DDIM; 1: DDPM-like ancestral noise
    eval_samples: int = 1000  # DDIM samples per FID evaluation
    loss_eval_images: int = 1000  # validation (and test) images for val_loss / test_loss, one seeded t each
    mixed_precision: str = "bf16"  # autocast dtype on CUDA (bf16 | fp16 | none); CPU always trains in float32

    def __post_init__(self) -> None:
        DataSpec(self.dataset, self.data_dir, self.image_size, self.fid_features)  # checks the data keys first
        _raise_first(self._checks())

    def _checks(self) -> list[tuple[bool, str]]:
        mults, attn = self.mults, self.attention
        levels = max(len(mults), 1)
        sides = resolutions(self.image_size, levels)
        return [
            (len(mults) >= 1 and all(m >= 1 for m in mults),
             f"channel_mult must be comma-separated positive integers, got {self.channel_mult!r}"),
            (self.image_size % 2 ** (levels - 1) == 0 and sides[-1] >= MIN_RESOLUTION,
             f"a {levels}-level U-Net (channel_mult={self.channel_mult}) cannot take {self.image_size} px images: "
             f"each level halves the side, which must stay even and >= {MIN_RESOLUTION} px; fix: "
             f"--set channel_mult= with at most {self._max_levels()} levels, or another image_size"),
            (all(r in sides for r in attn), f"attention_resolutions={self.attention_resolutions!r}: this U-Net's "
             f"feature maps are {', '.join(map(str, sides))} px; fix: --set attention_resolutions= a subset of them "
             f"(e.g. {attention_level(self.image_size, levels) or 'empty for none'})"),
            (self.base_channels >= 8 and self.base_channels % 8 == 0,
             f"base_channels must be a multiple of 8 (group norm), got {self.base_channels}"),
            (self.num_res_blocks >= 1, f"num_res_blocks must be >= 1, got {self.num_res_blocks}"),
            (0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (self.loss_weighting in LOSS_WEIGHTINGS,
             f"loss_weighting must be one of {LOSS_WEIGHTINGS}, got {self.loss_weighting!r}"),
            (self.mixed_precision in PRECISIONS, f"mixed_precision must be one of {PRECISIONS}"),
            (self.timesteps >= 2, f"timesteps must be >= 2, got {self.timesteps}"),
            (1 <= self.ddim_steps <= self.timesteps, f"ddim_steps must be in [1, timesteps], got {self.ddim_steps}"),
            (0.0 <= self.ddim_eta <= 1.0, f"ddim_eta must be in [0, 1], got {self.ddim_eta}"),
            (0.0 <= self.ema_decay < 1.0, f"ema_decay must be in [0, 1), got {self.ema_decay}"),
            (self.lr > 0 and self.grad_clip > 0, "lr and grad_clip must be > 0"),
            (self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}"),
            (self.batch_size >= 1 and self.max_epochs >= 1 and self.reports_per_epoch >= 1,
             "batch_size, max_epochs and reports_per_epoch must be >= 1"),
            (self.train_size is None or self.train_size >= 1, "train_size must be >= 1 or None"),
            (self.eval_samples >= 2 and self.loss_eval_images >= 1, "eval_samples must be >= 2, loss_eval_images >= 1"),
        ]

    def _max_levels(self) -> int:
        return 1 + max(k for k in range(8) if self.image_size % 2**k == 0 and self.image_size // 2**k >= MIN_RESOLUTION)

    @property
    def mults(self) -> tuple[int, ...]:
        return parse_ints(self.channel_mult)

    @property
    def attention(self) -> tuple[int, ...]:
        return parse_ints(self.attention_resolutions)

    @property
    def channels(self) -> int:
        """Image channels: 1 for MNIST, 3 (RGB) otherwise."""
        return 1 if self.dataset == "mnist" else 3

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)
