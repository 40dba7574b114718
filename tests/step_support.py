"""Shared by the training-step tests: an optimiser stand-in that records what a step would apply."""

from __future__ import annotations

import torch
from torch import nn


class GradRecorder:
    """Takes an optimiser's place in a training loop: at every ``step`` it records the learning rate the loop
    set and every parameter's gradient, and changes no parameter (so each step starts from the same weights)."""

    def __init__(self, module: nn.Module):
        self.named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self.param_groups = [{"lr": None, "params": [p for _, p in self.named]}]
        self.steps: list[tuple[float | None, dict[str, torch.Tensor]]] = []  # (lr, {name: gradient})

    def zero_grad(self, set_to_none: bool = True) -> None:
        for _, p in self.named:
            p.grad = None

    def step(self) -> None:
        grads = {n: p.grad.detach().clone() for n, p in self.named if p.grad is not None}
        self.steps.append((self.param_groups[0]["lr"], grads))


def grads_of(loss: torch.Tensor, module: nn.Module) -> dict[str, torch.Tensor]:
    """``d loss / d parameter`` for every parameter of ``module`` (zeros where it does not reach)."""
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, [p for _, p in named], retain_graph=True, allow_unused=True)
    return {n: torch.zeros_like(p) if g is None else g for (n, p), g in zip(named, grads)}
