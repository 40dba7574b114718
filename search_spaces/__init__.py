"""The study registry: ``STUDIES`` maps a study name to its :class:`Study`.

Spaces are Optuna define-by-run functions that only sample and return constants. Nothing here
imports Ray or trains anything.
"""

from search_spaces.study import DEFAULT_PARAM_CAP, Params, Profile, Reference, Study, sample_space
from search_spaces.cyclevae import STUDIES as _CYCLEVAE_STUDIES
from search_spaces.dann import STUDIES as _DANN_STUDIES
from search_spaces.ddpm import STUDIES as _DDPM_STUDIES
from search_spaces.gan import STUDIES as _GAN_STUDIES
from search_spaces.vae import STUDIES as _VAE_STUDIES
from search_spaces.vae_grids import STUDIES as _VAE_GRID_STUDIES

STUDIES: dict[str, Study] = {s.name: s for s in [*_VAE_STUDIES, *_VAE_GRID_STUDIES, *_GAN_STUDIES, *_DANN_STUDIES,
                                                  *_CYCLEVAE_STUDIES, *_DDPM_STUDIES]}

__all__ = ["DEFAULT_PARAM_CAP", "Params", "Profile", "Reference", "STUDIES", "Study", "sample_space"]
