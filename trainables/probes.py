"""Probe classifiers: how much of a label a set of encodings carries (Jha et al. 2018, Table 1).

The probe is the release's ``Classifier`` (``networks.py``): Linear(d, 256) - BatchNorm - LeakyReLU(0.2)
- Linear(256, 256) - BatchNorm - LeakyReLU(0.2) - Linear(256, K), here on inputs standardised with the
fitted encodings' mean and standard deviation, trained with Adam (lr 1e-3, batches of 256, cross-entropy)
for a fixed number of epochs from a seeded initialisation. The release ships the network but no
training script for it; these training settings are ours.
"""

from __future__ import annotations

import torch
from torch import nn

HIDDEN = 256  # the release's Classifier width
LR, BATCH = 1e-3, 256


class Probe(nn.Module):
    """Standardise, then the release's three-layer classifier; ``predict`` returns the original labels."""

    def __init__(self, dim: int, classes: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("classes", classes)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.net = nn.Sequential(
            nn.Linear(dim, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.LeakyReLU(0.2),
            nn.Linear(HIDDEN, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.LeakyReLU(0.2),
            nn.Linear(HIDDEN, len(classes)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)  # (N, K) logits

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        self.eval()
        return self.classes[self(x).argmax(dim=1)]


def fit_probe(x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> Probe:
    """A probe fitted on features ``x`` (N, d) and labels ``y`` (N,), deterministic for ``seed``."""
    x = x.detach().float()
    classes, target = torch.unique(y, return_inverse=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        probe = Probe(x.shape[1], classes.cpu(), x.mean(0).cpu(), x.std(0).clamp_min(1e-6).cpu())
    probe.to(x.device).train()
    opt = torch.optim.Adam(probe.parameters(), lr=LR)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=gen, device=x.device)
            for i in range(0, len(x), BATCH):
                idx = order[i:i + BATCH]
                if len(idx) < 2:  # batch norm cannot train on one row
                    continue
                loss = loss_fn(probe(x[idx]), target[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return probe.eval()


def accuracy(probe: Probe, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of rows of ``x`` whose predicted label is ``y``."""
    return float((probe.predict(x.float()) == y).double().mean())
