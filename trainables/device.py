"""Device choice and seeding."""

from __future__ import annotations

import random

import numpy as np
import torch


def pick_device() -> torch.device:
    """CUDA when a GPU is visible to this process (Ray sets CUDA_VISIBLE_DEVICES per trial), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    """The generator of an epoch's shuffle: a function of (seed, epoch) only, so a resumed run
    shuffles its next epoch exactly as an uninterrupted one would."""
    return torch.Generator(device=device).manual_seed(seed * 100_003 + epoch)


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The global torch RNG states a training step draws from (noise, dropout): CPU, and CUDA's
    for ``device`` when it is a GPU. Saved in trainer state, restored by :func:`set_rng_state`."""
    state = {"torch_rng": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
    """Restore what :func:`rng_state` saved (a checkpoint from a CPU run leaves CUDA's RNG seeded)."""
    torch.set_rng_state(state["torch_rng"].cpu())
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
