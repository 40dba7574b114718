"""The GAN family's typed, flat config: the same keys are ``--set`` keys and MLflow params."""

from __future__ import annotations

from dataclasses import dataclass

from trainables.config import FlatConfig

LOSS_NAMES = ("bce", "lsgan", "wgan_gp", "hinge")
SMOOTHABLE_LOSSES = ("bce", "lsgan")  # losses with a real-label target that one-sided smoothing lowers
NORMS_D = ("batch", "none", "spectral")
NORMS_G = ("batch", "none")
ACTIVATIONS = ("relu", "leaky_relu")


@dataclass(frozen=True)
class GANConfig(FlatConfig):
    """One GAN trial. Unknown keys fail at construction (``GANConfig(**config)``).

    One epoch is one pass of the discriminator over the training images (one real batch per D
    step); the generator steps once every ``n_critic`` D steps. A trial reports
    ``reports_per_epoch`` times per epoch: one report is one ASHA time unit.
    """

    dataset: str = "mnist"
    seed: int = 0
    lr: float = 2e-4  # Adam, both networks, unless lr_g / lr_d are set; 2e-4 in Radford et al. (DCGAN)
    batch_size: int = 64  # 128 in DCGAN; 64 doubles the steps per epoch on a CPU budget
    max_epochs: int = 5
    loss: str = "bce"  # bce (non-saturating) | lsgan | wgan_gp | hinge
    label_smoothing: float = 0.0  # one-sided: real target 1 - eps (Salimans et al. 2016 use 0.1); bce/lsgan
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs (pixels in [-1, 1]), annealed to 0
    depth: int = 3  # (transposed) 4-2-1 conv blocks: 28px -> 14 -> 7 -> 3
    width: int = 64  # channels of the block next to the image, doubling per block away from it
    latent_dim: int = 100  # 100 in DCGAN
    norm_d: str = "batch"  # batch | none | spectral (Miyato et al. 2018)
    norm_g: str = "batch"  # batch | none
    act_g: str = "relu"  # relu in DCGAN's generator
    act_d: str = "leaky_relu"  # leaky_relu (slope 0.2) in DCGAN's discriminator
    leaky_slope: float = 0.2
    d_dropout: float = 0.0  # dropout after each D block
    lr_g: float | None = None  # None: lr; TTUR (Heusel et al. 2017) sets lr_d > lr_g
    lr_d: float | None = None
    beta1: float = 0.5  # Adam beta1: 0.5 in DCGAN; 0 / 0.5 in WGAN-GP
    beta2: float = 0.999  # 0.9 in WGAN-GP
    n_critic: int = 1  # D steps per G step: 5 in Gulrajani et al. (WGAN-GP)
    g_ema: float = 0.999  # decay of the generator's weight average (Yazici et al. 2019), scored and exported; 0: off
    gp_lambda: float = 10.0  # gradient penalty weight (wgan_gp only): 10 in Gulrajani et al.
    train_size: int | None = None  # first N training images; None: all of them
    reports_per_epoch: int = 1  # reports (ASHA time units, fid evaluations) per epoch
    eval_samples: int = 2000  # generated images per fid / kid / class-coverage evaluation
    image_every: int = 1  # reports between samples.png grids (fixed_noise.png is written every report)
    d_win_patience: int = 500  # D steps in a row with D completely winning before the trial is called diverged

    def __post_init__(self) -> None:
        checks = [
            (self.loss in LOSS_NAMES, f"loss must be one of {LOSS_NAMES}, got {self.loss!r}"),
            (self.norm_d in NORMS_D, f"norm_d must be one of {NORMS_D}, got {self.norm_d!r}"),
            (self.norm_g in NORMS_G, f"norm_g must be one of {NORMS_G}, got {self.norm_g!r}"),
            (self.act_g in ACTIVATIONS and self.act_d in ACTIVATIONS,
             f"act_g and act_d must be one of {ACTIVATIONS}, got {self.act_g!r}, {self.act_d!r}"),
            (not (self.loss == "wgan_gp" and self.norm_d == "batch"),
             "wgan_gp penalises per-image gradients, which batch norm in D couples; set norm_d=none or spectral"),
            (0.0 <= self.label_smoothing < 0.5, f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}"),
            (self.label_smoothing == 0 or self.loss in SMOOTHABLE_LOSSES,
             f"label_smoothing applies to {SMOOTHABLE_LOSSES} only, not {self.loss!r}; set label_smoothing=0"),
            (self.instance_noise >= 0, f"instance_noise must be >= 0, got {self.instance_noise}"),
            (self.lr > 0 and (self.lr_g or 1) > 0 and (self.lr_d or 1) > 0, "lr, lr_g and lr_d must be > 0"),
            (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0, "beta1 and beta2 must be in [0, 1)"),
            (self.batch_size >= 2, f"batch_size must be >= 2 (batch norm), got {self.batch_size}"),
            (self.max_epochs >= 1 and self.reports_per_epoch >= 1, "max_epochs and reports_per_epoch must be >= 1"),
            (self.depth >= 1 and self.width >= 1 and self.latent_dim >= 1, "depth, width and latent_dim must be >= 1"),
            (0.0 <= self.d_dropout < 1.0, f"d_dropout must be in [0, 1), got {self.d_dropout}"),
            (self.n_critic >= 1, f"n_critic must be >= 1, got {self.n_critic}"),
            (0.0 <= self.g_ema < 1.0, f"g_ema must be in [0, 1), got {self.g_ema}"),
            (self.gp_lambda >= 0, f"gp_lambda must be >= 0, got {self.gp_lambda}"),
            (self.train_size is None or self.train_size >= self.batch_size,
             "train_size must be None or at least batch_size"),
            (self.eval_samples >= 2 and self.image_every >= 1 and self.d_win_patience >= 1,
             "eval_samples must be >= 2, image_every and d_win_patience >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def lr_generator(self) -> float:
        return self.lr if self.lr_g is None else self.lr_g

    @property
    def lr_discriminator(self) -> float:
        return self.lr if self.lr_d is None else self.lr_d
