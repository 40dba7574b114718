"""The family registry: ``FAMILIES`` maps a family's name to its :class:`trainables.family.Family`.

Each family is one module here that builds its ``FAMILY`` from its own files; adding a family adds that
module and one line to ``MODULES``. A family defined outside genstudy is named by its module's import path
(``"benchmarks.synthetic"``, a module defining ``FAMILY`` with its ``config``): it is looked up like a
registered one but not listed. A family's module is imported when the family is first looked up, so a trial worker
imports its own family's code (torch for most) and no other's.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from trainables.checkpoint import CONFIG_KEY, FAMILY_KEY, load_weights, read_config
from trainables.family import Family

if TYPE_CHECKING:
    import torch
    from torch import nn

MODULES = (  # one line per family: trainables/families/<module>.py defines FAMILY, named as its module
    "vae",
    "gan",
    "dann_moons",
    "dann",
    "cyclevae",
    "ddpm",
)


class _Registry(Mapping[str, Family]):
    """``MODULES`` by name, each imported on first use; a dotted name is a module path outside the registry."""

    def __init__(self, modules: tuple[str, ...]):
        self._modules = modules
        self._loaded: dict[str, Family] = {}

    def __getitem__(self, name: str) -> Family:
        if name not in self._loaded:
            if name in self._modules:
                family = import_module(f"{__name__}.{name}").FAMILY
            elif "." in name:
                try:
                    family = import_module(name).FAMILY
                except (ImportError, AttributeError) as e:
                    raise KeyError(name) from e
            else:
                raise KeyError(name)
            assert family.name == name, f"the module of family {name!r} defines family {family.name!r}"
            self._loaded[name] = family
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


FAMILIES: Mapping[str, Family] = _Registry(MODULES)


def restore_model(directory: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, Any]:
    """Load ``model.safetensors`` + ``config.json`` from a local folder (a checkpoint or a download).

    Returns:
        ``(model, cfg)``: the family's whole model in eval mode and its typed config (e.g. ``VAEConfig``).
    """
    meta = read_config(directory)
    family = FAMILIES[meta[FAMILY_KEY]]
    cfg = family.make_config(meta[CONFIG_KEY])
    model = family.build(cfg)
    load_weights(directory, model)
    return model.to(device).eval(), cfg
