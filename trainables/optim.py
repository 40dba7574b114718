"""Optimiser state across a resume."""

from __future__ import annotations

from typing import Any

import torch


def load_keeping_lr(opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Load ``state`` (an earlier ``opt.state_dict()``) but keep each group's learning rate as ``opt`` was built.

    A resume under the same config changes nothing (the rates are equal); a trial that population-based
    training continues from another trial's checkpoint with a new learning rate trains at the new rate, where a
    plain ``load_state_dict`` would bring back the old one.
    """
    rates = [group["lr"] for group in opt.param_groups]
    opt.load_state_dict(state)
    for group, lr in zip(opt.param_groups, rates):
        group["lr"] = lr
