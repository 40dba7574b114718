"""The cycle-consistent VAE family's typed, flat config: the same keys are ``--set`` keys and MLflow params.

Defaults are the authors' release (github.com/ananyahjha93/cycle-consistent-vae, ``main.py``) except
where a comment says otherwise; the module docstring of :mod:`trainables.cyclevae` lists every
difference from the paper and the release.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainables.config import FlatConfig

IMAGE_SHAPES: dict[str, tuple[int, int, int]] = {  # (C, H, W): the decoder reaches H = 8 * s0 + 12
    "mnist": (1, 28, 28),
    "sprites": (3, 60, 60),  # Reed et al. 2015
    "synthetic": (1, 28, 28),  # generated shapes, for tests
}
REVERSE_PAIRS = ("random", "different")


@dataclass(frozen=True)
class CycleVAEConfig(FlatConfig):
    """One cycle-consistent VAE trial. Unknown keys fail at construction (``CycleVAEConfig(**config)``).

    One epoch is ``floor(N / batch_size)`` iterations over the N training images (the release drops
    the last partial batch); each iteration is one forward-cycle step on a batch of same-label pairs
    (encoder and decoder) and one reverse-cycle step (encoder only). A trial reports once per epoch.
    """

    dataset: str = "mnist"  # mnist | sprites | synthetic
    seed: int = 0
    lr: float = 1e-4  # Adam, both optimisers; the release's initial_learning_rate
    lr_step_epochs: int = 80  # StepLR: lr is multiplied by lr_gamma every lr_step_epochs epochs (release: 80)
    lr_gamma: float = 0.1  # release: divide by 10
    beta1: float = 0.9  # Adam betas: the release's (0.9, 0.999)
    beta2: float = 0.999
    batch_size: int = 64  # pairs per forward step, images per reverse step (release: 64)
    max_epochs: int = 100  # release: end_epoch 100
    z_dim: int = 16  # unspecified (style) latent; paper: MNIST 16 or 64, Sprites 512
    s_dim: int = 16  # specified (class) latent; paper: MNIST 16 or 64, Sprites 64
    width: int = 16  # channels of the first encoder conv (16, 32, 64 down; decoder 8w, 2w, w up); release: 16
    recon_weight: float = 2.0  # forward cycle: weight of the swapped-s reconstruction MSE (release: 2; "3 for 64 dim")
    kl_weight: float = 3.0  # forward cycle: weight of KL(q(z|x) || N(0, I)) / pixels (release: 3)
    reverse_weight: float = 10.0  # reverse cycle: weight of the L1 between re-encoded z means (release: 10)
    reverse_pairs: str = "random"  # random: two independent batches (release) | different: labels always differ
    train_size: int | None = None  # first N training images; None: all of them
    eval_size: int | None = None  # first N validation and test images scored per report; None: all of them
    probe_train_size: int = 5000  # encodings each probe is fitted on (see trainables.probes)
    probe_epochs: int = 20  # passes of the probe's Adam over them
    image_every: int = 5  # epochs between swap / reconstruction grids (and always the first and last)

    def __post_init__(self) -> None:
        checks = [
            (self.dataset in IMAGE_SHAPES, f"dataset must be one of {tuple(IMAGE_SHAPES)}, got {self.dataset!r}"),
            (self.reverse_pairs in REVERSE_PAIRS,
             f"reverse_pairs must be one of {REVERSE_PAIRS}, got {self.reverse_pairs!r}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.lr_step_epochs >= 1 and 0 < self.lr_gamma <= 1,
             "lr_step_epochs must be >= 1 and lr_gamma in (0, 1]"),
            (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0, "beta1 and beta2 must be in [0, 1)"),
            (self.batch_size >= 2, f"batch_size must be >= 2, got {self.batch_size}"),
            (self.max_epochs >= 1, f"max_epochs must be >= 1, got {self.max_epochs}"),
            (self.z_dim >= 1 and self.s_dim >= 1 and self.width >= 1, "z_dim, s_dim and width must be >= 1"),
            (min(self.recon_weight, self.kl_weight, self.reverse_weight) >= 0,
             "recon_weight, kl_weight and reverse_weight must be >= 0"),
            (self.train_size is None or self.train_size >= self.batch_size,
             "train_size must be None or at least batch_size"),
            (self.eval_size is None or self.eval_size >= 10, "eval_size must be None or >= 10"),
            (self.probe_train_size >= 10 and self.probe_epochs >= 1,
             "probe_train_size must be >= 10 and probe_epochs >= 1"),
            (self.image_every >= 1, f"image_every must be >= 1, got {self.image_every}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the dataset, known without reading files."""
        return IMAGE_SHAPES[self.dataset]

    def lr_at(self, epoch: int) -> float:
        """The learning rate in force during ``epoch`` (1-based): StepLR as the release steps it."""
        return self.lr * self.lr_gamma ** ((epoch - 1) // self.lr_step_epochs)
