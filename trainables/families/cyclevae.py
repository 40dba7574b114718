"""The cycle-consistent VAE (Jha et al. 2018): one report per epoch."""

from trainables.cyclevae import train
from trainables.data.cyclevae_data import load_cyclevae_data
from trainables.family import EPOCH, Family
from trainables.models.cyclevae import build_cyclevae

FAMILY = Family("cyclevae", train, build_cyclevae, load_data=load_cyclevae_data, unit=EPOCH)
