"""DDPM with DDIM sampling (Ho et al. 2020; Song et al. 2021): ``reports_per_epoch`` reports an epoch."""

from trainables.data.ddpm_data import load_ddpm_data
from trainables.ddpm import train
from trainables.ddpm_eval import prepare
from trainables.family import Family
from trainables.models.unet import build_unet

FAMILY = Family("ddpm", train, build_unet, load_data=load_ddpm_data, prepare=prepare)
