"""Checkpoints: ``model.safetensors`` + ``config.json`` (+ ``trainer_state.pt`` to resume training).

Nothing here unpickles code: weights are safetensors, trainer state is read with
``torch.load(weights_only=True)``. Files are written to a temporary name and renamed, so a crash
mid-write leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where weights are read or written: a checkpoint's metadata needs none
    import torch
    from torch import nn

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STATE_FILE = "trainer_state.pt"

# keys of config.json: {"config": the trial's config, "family", "unit", "report", "metrics", ...}
CONFIG_KEY = "config"
FAMILY_KEY = "family"
UNIT_KEY = "unit"  # what a report is: "epoch" or "report" (Family.unit)
REPORT_KEY = "report"  # the report the checkpoint was written at, from 1
METRICS_KEY = "metrics"  # what was reported with it
IMAGE_SHAPE_KEY = "image_shape"  # (C, H, W) of an image family's data
LEGACY_REPORT_KEY = "epoch"  # checkpoints written before "report": the report index under this name


def report_of(meta: dict[str, Any]) -> int:
    """The report a checkpoint's ``config.json`` was written at (older checkpoints: its ``epoch``)."""
    return int(meta.get(REPORT_KEY, meta.get(LEGACY_REPORT_KEY, 0)))


class CheckpointError(Exception):
    """A checkpoint file is missing, truncated or corrupt; the message names the file."""


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_model(directory: str | Path, model: nn.Module, config: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write the model weights and ``{"config": config, **meta}`` as JSON into ``directory``."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    _atomic(d / MODEL_FILE, lambda p: save_file(tensors, str(p)))
    save_config(d, config, meta)


def save_config(directory: str | Path, config: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write ``{"config": config, **meta}`` as JSON into ``directory`` (a checkpoint's metadata; no torch)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _atomic(d / CONFIG_FILE, lambda p: p.write_text(json.dumps({CONFIG_KEY: config, **meta}, indent=2)))


def save_state(directory: str | Path, state: dict[str, Any]) -> None:
    import torch

    _atomic(Path(directory) / STATE_FILE, lambda p: torch.save(state, p))


def read_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot read checkpoint config {path}: {e}") from e


def load_weights(directory: str | Path, model: nn.Module) -> None:
    from safetensors.torch import load_file

    path = Path(directory) / MODEL_FILE
    try:
        tensors = load_file(str(path))
        model.load_state_dict(tensors)
    except Exception as e:  # noqa: BLE001 - safetensors raises several types for bad files
        raise CheckpointError(f"corrupt or incompatible checkpoint {path}: {e}") from e


def load_state(directory: str | Path, device: torch.device) -> dict[str, Any]:
    import torch

    path = Path(directory) / STATE_FILE
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(f"corrupt or unreadable trainer state {path}: {e}") from e
