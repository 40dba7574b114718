"""The family registry: ``FAMILIES`` maps a family's name to its :class:`trainables.family.Family`.

Each family is one module here that builds its ``FAMILY`` from its own files; adding a family adds that
module and one line to ``MODULES``.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainables.checkpoint import CONFIG_KEY, FAMILY_KEY, load_weights, read_config
from trainables.family import Family

MODULES = (  # one line per family: trainables/families/<module>.py defines FAMILY
    "vae",
    "gan",
    "dann_moons",
    "dann",
    "cyclevae",
    "ddpm",
)

FAMILIES: dict[str, Family] = {f.name: f for f in (import_module(f"{__name__}.{m}").FAMILY for m in MODULES)}


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
