"""The GAN family (DCGAN with the bce, lsgan, wgan_gp and hinge losses): ``reports_per_epoch`` reports an epoch."""

from __future__ import annotations

from torch import nn

from trainables.classifier import prepare_assets
from trainables.data import ImageData
from trainables.data.registry import image_shape
from trainables.export import Exports
from trainables.family import Family
from trainables.gan import final_metrics, train
from trainables.gan_config import GANConfig
from trainables.gan_export import gan_exports
from trainables.models.gan import GAN, build_gan


def build(cfg: GANConfig) -> nn.Module:
    return build_gan(cfg, image_shape(cfg.dataset))


def publish(model: GAN, cfg: GANConfig, data: ImageData | None) -> Exports:
    return gan_exports(model, image_shape(cfg.dataset))


FAMILY = Family("gan", train, build, prepare=prepare_assets, publish=publish, final_metrics=final_metrics)
