"""The study registry: ``STUDIES`` maps a study name to its :class:`Study`.

Each module named in ``MODULES`` defines a list ``STUDIES`` of one family's studies; adding a family's
studies adds that module and one line to ``MODULES``. Spaces are Optuna define-by-run functions that only
sample and return constants. Nothing here imports Ray or trains anything.
"""

from importlib import import_module

from search_spaces.study import DEFAULT_PARAM_CAP, Mutation, Params, Profile, Reference, Study, sample_space

MODULES = (  # one line per module: search_spaces/<module>.py defines STUDIES
    "vae",
    "vae_grids",
    "gan",
    "dann",
    "cyclevae",
    "ddpm",
)

STUDIES: dict[str, Study] = {s.name: s for m in MODULES for s in import_module(f"{__name__}.{m}").STUDIES}

__all__ = ["DEFAULT_PARAM_CAP", "MODULES", "Mutation", "Params", "Profile", "Reference", "STUDIES", "Study", "sample_space"]
