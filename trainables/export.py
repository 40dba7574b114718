"""What a trained model is exported as: ``torch.export`` programs (``.pt2``) and TorchScript files
(``.pt``) anyone can load without genstudy.

A family lists its exports (``Family.publish``, its one export path): one :class:`Exportable` becomes
the study's MLflow model (``mlflow.pytorch.log_model``, saved by MLflow as a ``torch.export`` program,
no pickle), each program a ``NAME.pt2`` file and each script a ``NAME.pt`` file (:func:`write`: the
end of a study logs them on the best run, ``analysis.export --models`` writes them to a folder).
``torch.export.load(path).module()(*inputs)`` runs a ``.pt2`` in any interpreter with torch (the batch
dimension stays dynamic); ``torch.jit.load(path)`` runs a ``.pt`` and keeps its other methods.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class Exportable:
    """A module in eval mode on the CPU, with an example batch of its inputs.

    ``example`` holds one tensor per input, each with a batch of more than one row (``torch.export``
    fixes a dimension of size 1 as a constant); ``inputs`` and ``outputs`` name them in order.
    """

    module: nn.Module
    example: tuple[torch.Tensor, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    summary: str  # one line: what goes in, what comes out

    def __post_init__(self) -> None:
        if len(self.example) != len(self.inputs):
            raise ValueError(f"{len(self.example)} example tensors for {len(self.inputs)} input names")
        if any(len(t) < 2 for t in self.example):
            raise ValueError("example batches need at least 2 rows, or torch.export fixes the batch size at 1")


@dataclass(frozen=True)
class Exports:
    """``model``: logged as the MLflow model; ``programs``: written as ``NAME.pt2``; ``scripts``: modules
    written as TorchScript ``NAME.pt`` (for code that loads models with ``torch.jit.load``)."""

    model: Exportable
    programs: dict[str, Exportable] = field(default_factory=dict)
    scripts: dict[str, nn.Module] = field(default_factory=dict)


def export_program(ex: Exportable) -> torch.export.ExportedProgram:
    """``torch.export`` of ``ex.module`` with a dynamic batch dimension on every input."""
    dims = tuple({0: torch.export.Dim.AUTO} for _ in ex.example)
    return torch.export.export(ex.module, ex.example, dynamic_shapes=dims)


def save_program(ex: Exportable, path: str | Path) -> Path:
    """Write ``ex`` as a ``.pt2`` archive (to a temporary name, then renamed); returns the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.pt2")  # torch.export.save wants the .pt2 suffix
    torch.export.save(export_program(ex), str(tmp))
    os.replace(tmp, path)
    return path



def save_script(module: nn.Module, path: str | Path) -> Path:
    """Write ``module`` (eval mode, CPU) as TorchScript (to a temporary name, then renamed); returns the path."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, and is what notebooks load
        scripted = torch.jit.script(module.cpu().eval())
    tmp = path.with_name(f".{path.name}.tmp")
    scripted.save(str(tmp))
    os.replace(tmp, path)
    return path


def write(exports: Exports, folder: str | Path) -> list[Path]:
    """Every program as ``NAME.pt2`` and every script as ``NAME.pt`` in ``folder``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [save_program(ex, folder / f"{name}.pt2") for name, ex in exports.programs.items()]
    return paths + [save_script(module, folder / f"{name}.pt") for name, module in exports.scripts.items()]
