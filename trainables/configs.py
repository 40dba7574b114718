"""The config registry: ``CONFIGS`` maps a family's name to its typed config class.

Torch-free, unlike :mod:`trainables.families` (the training code): ``study.run`` resolves a study, its
profile and ``--set`` values, and refuses bad ones, with these classes alone. A family's
:attr:`trainables.family.Family.config_cls` is its entry here.
"""

from __future__ import annotations

from trainables.config import FlatConfig
from trainables.cyclevae_config import CycleVAEConfig
from trainables.dann_config import DANNConfig, MoonsConfig
from trainables.ddpm_config import DDPMConfig
from trainables.gan_config import GANConfig
from trainables.vae_config import VAEConfig

CONFIGS: dict[str, type[FlatConfig]] = {  # in the order of trainables.families.MODULES
    "vae": VAEConfig,
    "gan": GANConfig,
    "dann_moons": MoonsConfig,
    "dann": DANNConfig,
    "cyclevae": CycleVAEConfig,
    "ddpm": DDPMConfig,
}


def config_class(family: str) -> type[FlatConfig]:
    """The typed config of ``family``: a registered family's entry in ``CONFIGS``, or for a family named by its
    module path (outside genstudy, e.g. the benchmarks'), the config its ``FAMILY`` brings.

    Raises:
        KeyError: no registered family has that name and no importable module of that path defines ``FAMILY``.
    """
    if family in CONFIGS:
        return CONFIGS[family]
    if "." not in family:
        raise KeyError(family)
    from trainables.families import FAMILIES  # imports that module

    return FAMILIES[family].config_cls
