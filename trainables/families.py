"""Trainable families: config class, training loop and parameter count, by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from trainables.data.registry import image_shape
from trainables.models.params import count_params
from trainables.models.vae import build_vae
from trainables.vae import fit as fit_vae
from trainables.vae_config import VAEConfig


@dataclass(frozen=True)
class Family:
    name: str
    config_cls: type
    fit: Callable[..., None]  # fit(cfg, report, data, resume_from=None, workdir=None)
    build: Callable[[Any, tuple[int, int, int]], Any]  # (cfg, image shape) -> nn.Module

    def make_config(self, config: dict) -> Any:
        return self.config_cls(**config)

    def n_params(self, cfg: Any) -> int:
        """Parameters of the model ``cfg`` describes, counted on the meta device."""
        return count_params(lambda: self.build(cfg, image_shape(cfg.dataset)))


FAMILIES: dict[str, Family] = {
    "vae": Family("vae", VAEConfig, fit_vae, build_vae),
}
