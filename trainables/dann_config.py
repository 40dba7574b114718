"""The DANN families' typed, flat configs (Ganin et al., JMLR 2016): the same keys are ``--set`` keys
and MLflow params.

* :class:`MoonsConfig`: the shallow DANN of Algorithm 1 on the inter-twinning moons (section 5.1.1).
* :class:`DANNConfig`: the deep DANN of Figure 4(a) on MNIST -> MNIST-M (section 5.2.4).

Keys that choose the data (``n_per_class``, ``rotation``, ``noise``, ``photos``, ``mnist_m_seed``,
``mnist_m_source``, the ``*_size`` subsets) are only ever fixed (study, profile or ``--set``), never
searched: the data is loaded once per study.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainables.config import FlatConfig

MNIST_M_SOURCES = ("auto", "files", "build")  # distributed files if present else built; files only; build only


@dataclass(frozen=True)
class MoonsConfig(FlatConfig):
    """One shallow-DANN trial on the two moons. Unknown keys fail at construction.

    One epoch is one pass over the source points, one SGD step per source point (Algorithm 1: one
    source example and one random target example per step). A trial reports ``reports`` times,
    evenly over ``max_epochs`` epochs (one report is one ASHA time unit).
    """

    dataset: str = "moons"
    seed: int = 0
    lr: float = 0.05  # SGD step; 0.05 in the authors' DANN.py (Germain's release)
    batch_size: int = 1  # source points per step (with as many target points); 1 in Algorithm 1
    max_epochs: int = 500  # maxiter=500 in the authors' experiments_moons.py
    hidden: int = 15  # sigmoid hidden units; 15 in section 5.1.1 and experiments_moons.py
    lambda_adapt: float = 6.0  # weight of the domain regressor's loss; 6 in section 5.1.1
    adversarial: bool = True  # False: the standard NN (the domain gradient does not reach the hidden layer)
    reports: int = 10  # reports per trial, evenly spaced over max_epochs
    n_per_class: int = 150  # points per moon per split; make_moons(n_samples=2 * n_per_class)
    rotation: float = 35.0  # degrees, counter-clockwise about the source mean: target = rotated source
    noise: float = 0.05  # make_moons' Gaussian noise; 0.05 in experiments_moons.py

    def __post_init__(self) -> None:
        checks = [
            (self.dataset == "moons", f"dataset must be 'moons', got {self.dataset!r}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.max_epochs >= 1 and self.hidden >= 1, "max_epochs and hidden must be >= 1"),
            (self.lambda_adapt >= 0, f"lambda_adapt must be >= 0, got {self.lambda_adapt}"),
            (1 <= self.reports <= self.max_epochs, f"reports must be in [1, max_epochs], got {self.reports}"),
            (self.n_per_class >= 2 and self.noise >= 0, "n_per_class must be >= 2 and noise >= 0"),
        ]
        _check(checks)

    @property
    def n_reports(self) -> int:
        """``reports``, evenly spaced over the epochs (the key a moons study must not search)."""
        return self.reports


@dataclass(frozen=True)
class DANNConfig(FlatConfig):
    """One deep-DANN trial, MNIST (source, labelled) -> MNIST-M (target, unlabelled in training).

    Every step draws ``batch_size / 2`` source and ``batch_size / 2`` target images. One epoch is
    ``floor(source training images / (batch_size / 2))`` steps (the last partial batch is dropped);
    the training progress p runs from 0 to 1 over all ``max_epochs`` epochs and drives both schedules:
    ``lr_p = lr / (1 + lr_alpha p) ** lr_beta`` and
    ``lambda_p = lambda_max * (2 / (1 + exp(-gamma p)) - 1)``. ``lambda_max = 0`` is the
    source-only model: the same network and batches, with no domain gradient reaching the features
    (the domain classifier still trains, on the features as they are).
    """

    dataset: str = "mnist_m"
    seed: int = 0
    lr: float = 0.01  # mu_0: 0.01 in section 5.2.2
    lr_alpha: float = 10.0  # alpha: 10 in section 5.2.2
    lr_beta: float = 0.75  # beta: 0.75 in section 5.2.2
    momentum: float = 0.9  # SGD momentum: 0.9 in section 5.2.2
    gamma: float = 10.0  # lambda schedule steepness: 10 in section 5.2.2 ("not optimized")
    lambda_max: float = 1.0  # the value lambda_p tends to; 1 in the paper; 0: source only
    batch_size: int = 128  # images per step, half source and half target: 128 in section 5.2.2
    max_epochs: int = 10
    reports_per_epoch: int = 1  # reports (ASHA time units, evaluations) per epoch
    eval_size: int | None = None  # first N images of each evaluation split; None: all of them
    source_train_size: int | None = None  # first N source training images; None: all of them
    target_train_size: int | None = None  # first N target training images; None: all of them
    photos: str = "skimage"  # MNIST-M built over: "skimage" (skimage.data's colour photographs) or a folder
    mnist_m_seed: int = 42  # seed of the MNIST-M builder (42 in pumpikano/tf-dann's create_mnistm.py)
    mnist_m_source: str = "auto"  # auto | files | build; see trainables.data.mnist_m

    def __post_init__(self) -> None:
        checks = [
            (self.dataset == "mnist_m", f"dataset must be 'mnist_m', got {self.dataset!r}"),
            (self.lr > 0 and self.lr_alpha >= 0 and self.lr_beta >= 0, "lr must be > 0, lr_alpha and lr_beta >= 0"),
            (0.0 <= self.momentum < 1.0, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.gamma > 0, f"gamma must be > 0, got {self.gamma}"),
            (self.lambda_max >= 0, f"lambda_max must be >= 0, got {self.lambda_max}"),
            (self.batch_size >= 2 and self.batch_size % 2 == 0,
             f"batch_size must be even and >= 2 (half source, half target), got {self.batch_size}"),
            (self.max_epochs >= 1 and self.reports_per_epoch >= 1, "max_epochs and reports_per_epoch must be >= 1"),
            (all(n is None or n >= 1 for n in (self.eval_size, self.source_train_size, self.target_train_size)),
             "eval_size, source_train_size and target_train_size must be >= 1 or None"),
            (self.mnist_m_source in MNIST_M_SOURCES,
             f"mnist_m_source must be one of {MNIST_M_SOURCES}, got {self.mnist_m_source!r}"),
            (bool(self.photos), "photos must be 'skimage' or a folder of photographs"),
        ]
        _check(checks)


def _check(checks: list[tuple[bool, str]]) -> None:
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
