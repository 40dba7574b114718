"""Trainable families: what the study runner needs of each model family, by name.

A family is a file set under ``trainables/`` (config, models, losses, data, loop) registered here;
``study/`` knows nothing more of it than this record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from trainables.checkpoint import load_weights, read_config
from trainables.classifier import prepare_assets
from trainables.cyclevae import fit as fit_cyclevae, load_cyclevae_data
from trainables.cyclevae_config import CycleVAEConfig
from trainables.dann import fit as fit_dann
from trainables.dann_config import DANNConfig, MoonsConfig, dann_reports, moons_reports
from trainables.dann_moons import fit as fit_moons
from trainables.dann_reference import prepare_reference
from trainables.data import ImageData, SplitData, load_dataset
from trainables.data.ddpm_data import load_ddpm_data
from trainables.data.mnist_m_domains import load_mnist_m_domains
from trainables.data.moons import load_moons
from trainables.data.registry import image_shape
from trainables.ddpm import fit as fit_ddpm
from trainables.ddpm_config import DDPMConfig, n_reports as ddpm_reports
from trainables.ddpm_eval import prepare as prepare_ddpm
from trainables.export import Exports
from trainables.gan import export as export_gan
from trainables.gan import fit as fit_gan
from trainables.gan_config import GANConfig, n_reports as gan_reports
from trainables.images import uint8_to_float
from trainables.models.cyclevae import build_cyclevae
from trainables.models.dann import build_dann, build_moons_model
from trainables.models.gan import GAN, build_gan, gan_exports
from trainables.models.params import count_params
from trainables.models.unet import build_unet
from trainables.models.vae import VAE, build_vae
from trainables.vae import fit as fit_vae
from trainables.vae_config import VAEConfig
from trainables.vae_export import vae_exports


def _epochs(cfg: Any) -> int:
    return cfg.max_epochs


def load_images(fixed: Mapping[str, Any], root: Path) -> SplitData:
    """The image families' data: ``fixed["dataset"]`` through :func:`trainables.data.load_dataset`."""
    return load_dataset(fixed["dataset"], root)


@dataclass(frozen=True)
class Family:
    """What the study runner needs of a model family.

    ``load_data(fixed, data_root)`` runs once in the driver with the study's fixed config values (the
    study's, the profile's and ``--set``'s: only those may choose data) and returns the family's data
    container: any object satisfying :class:`trainables.data.SplitData`, with train, validation and
    test splits. It raises :class:`trainables.data.DataUnavailable` naming the remedy.
    ``fit(cfg, report, data, resume_from=None, workdir=None, assets=None)`` trains on the training
    split only and calls ``report(metrics, checkpoint_dir)`` ``n_reports(cfg)`` times (ASHA's time
    unit is one report); ``metrics`` holds the study's validation metric and its test counterpart.
    ``prepare(data, data_root)``, when given, runs once in the driver before any trial (e.g. to train
    the FID classifier) and returns the ``assets`` every trial receives. ``build(cfg)`` constructs the
    whole model (every parameter the cap counts). ``export(checkpoint_dir)``, when given, runs once per
    trial in the driver on the checkpoint the trial keeps, before it is logged (e.g. TorchScript).
    ``publish(model, cfg, data)``, when given, says what the study's best model is published as
    (:class:`trainables.export.Exports`: the MLflow model and ``.pt2`` programs); the driver calls it
    once, when the study ends.
    """

    name: str
    config_cls: type
    fit: Callable[..., None]
    build: Callable[[Any], nn.Module]
    load_data: Callable[[Mapping[str, Any], Path], SplitData] = load_images
    n_reports: Callable[[Any], int] = _epochs
    prepare: Callable[..., dict] | None = None
    export: Callable[[str], None] | None = None
    publish: Callable[[nn.Module, Any, SplitData], Exports] | None = None

    def make_config(self, config: dict) -> Any:
        return self.config_cls(**config)

    def n_params(self, cfg: Any) -> int:
        """Parameters of the model ``cfg`` describes, counted on the meta device."""
        return count_params(lambda: self.build(cfg))


def _build_vae(cfg: VAEConfig) -> nn.Module:
    return build_vae(cfg, image_shape(cfg.dataset))


def _build_gan(cfg: GANConfig) -> nn.Module:
    return build_gan(cfg, image_shape(cfg.dataset))


N_EXAMPLE = 4  # rows of the example batch stored with an exported model


def _vae_exports(model: VAE, cfg: VAEConfig, data: ImageData) -> Exports:
    return vae_exports(model, cfg.likelihood, uint8_to_float(torch.from_numpy(np.array(data.x_val[:N_EXAMPLE]))))


def _gan_exports(model: GAN, cfg: GANConfig, data: ImageData) -> Exports:
    return gan_exports(model, N_EXAMPLE)


FAMILIES: dict[str, Family] = {
    "vae": Family("vae", VAEConfig, fit_vae, _build_vae, publish=_vae_exports),
    "gan": Family("gan", GANConfig, fit_gan, _build_gan, n_reports=gan_reports, prepare=prepare_assets,
                  export=export_gan, publish=_gan_exports),
    "dann_moons": Family("dann_moons", MoonsConfig, fit_moons, build_moons_model, load_data=load_moons,
                         n_reports=moons_reports),
    "dann": Family("dann", DANNConfig, fit_dann, build_dann, load_data=load_mnist_m_domains, n_reports=dann_reports,
                   prepare=prepare_reference),
    "cyclevae": Family("cyclevae", CycleVAEConfig, fit_cyclevae, build_cyclevae, load_data=load_cyclevae_data),
    "ddpm": Family("ddpm", DDPMConfig, fit_ddpm, build_unet, load_data=load_ddpm_data, n_reports=ddpm_reports,
                   prepare=prepare_ddpm),
}


def restore_model(directory: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, Any]:
    """Load ``model.safetensors`` + ``config.json`` from a local folder (a checkpoint or a download).

    Returns:
        ``(model, cfg)``: the family's whole model in eval mode and its typed config (e.g. ``VAEConfig``).
    """
    meta = read_config(directory)
    family = FAMILIES[meta["family"]]
    cfg = family.make_config(meta["config"])
    model = family.build(cfg)
    load_weights(directory, model)
    return model.to(device).eval(), cfg
