"""The VAE family (VAE, β-VAE and the plain autoencoder): one report per epoch."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from trainables.data import ImageData
from trainables.data.registry import image_shape
from trainables.export import Exports
from trainables.family import EPOCH, Family
from trainables.images import uint8_to_float
from trainables.models.vae import VAE, build_vae
from trainables.vae import train
from trainables.vae_config import VAEConfig
from trainables.vae_export import vae_exports
from trainables.vae_nll import final_metrics

N_EXAMPLE = 4  # rows of the example batch stored with an exported model


def build(cfg: VAEConfig) -> nn.Module:
    return build_vae(cfg, image_shape(cfg.dataset))


def publish(model: VAE, cfg: VAEConfig, data: ImageData | None) -> Exports:
    if data is None:  # no data at hand (analysis.export --models): the example batch is uniform noise
        example = torch.rand(N_EXAMPLE, *image_shape(cfg.dataset), generator=torch.Generator().manual_seed(0))
    else:
        example = uint8_to_float(torch.from_numpy(np.array(data.x_val[:N_EXAMPLE])))
    return vae_exports(model, cfg.likelihood, example)


FAMILY = Family("vae", train, build, unit=EPOCH, publish=publish, final_metrics=final_metrics)
