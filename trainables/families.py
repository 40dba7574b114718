"""Trainable families: config class, training loop and parameter count, by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from trainables.classifier import prepare_assets
from trainables.data.registry import image_shape
from trainables.gan import fit as fit_gan
from trainables.gan_config import GANConfig, n_reports as gan_reports
from trainables.models.gan import build_gan
from trainables.models.params import count_params
from trainables.models.vae import build_vae
from trainables.vae import fit as fit_vae
from trainables.vae_config import VAEConfig


def _epochs(cfg: Any) -> int:
    return cfg.max_epochs


@dataclass(frozen=True)
class Family:
    """What the study runner needs of a model family.

    ``fit(cfg, report, data, resume_from=None, workdir=None, assets=None)`` trains and calls
    ``report(metrics, checkpoint_dir)`` ``n_reports(cfg)`` times (ASHA's time unit is one report).
    ``prepare(data, cache_dir)``, when given, runs once in the driver before any trial (e.g. to
    train the FID classifier) and returns the ``assets`` every trial receives.
    """

    name: str
    config_cls: type
    fit: Callable[..., None]
    build: Callable[[Any, tuple[int, int, int]], Any]  # (cfg, image shape) -> nn.Module (all parameters)
    n_reports: Callable[[Any], int] = _epochs
    prepare: Callable[..., dict] | None = None

    def make_config(self, config: dict) -> Any:
        return self.config_cls(**config)

    def n_params(self, cfg: Any) -> int:
        """Parameters of the model ``cfg`` describes, counted on the meta device."""
        return count_params(lambda: self.build(cfg, image_shape(cfg.dataset)))


FAMILIES: dict[str, Family] = {
    "vae": Family("vae", VAEConfig, fit_vae, build_vae),
    "gan": Family("gan", GANConfig, fit_gan, build_gan, n_reports=gan_reports, prepare=prepare_assets),
}
