"""DANN's losses and schedules (Ganin et al., JMLR 2016, section 5.2.2), as pure functions.

The training progress ``p`` runs linearly from 0 (first step) to 1 (end of training).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def lr_schedule(p: float, mu0: float, alpha: float, beta: float) -> float:
    """mu_p = mu0 / (1 + alpha p) ** beta (mu0 0.01, alpha 10, beta 0.75 in the paper)."""
    return mu0 / (1.0 + alpha * p) ** beta


def lambda_schedule(p: float, gamma: float, lambda_max: float = 1.0) -> float:
    """lambda_p = lambda_max * (2 / (1 + exp(-gamma p)) - 1): 0 at p = 0, tending to lambda_max
    (gamma 10 and lambda_max 1 in the paper)."""
    return lambda_max * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


def label_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the label predictor on labelled (source) examples."""
    return F.cross_entropy(logits, labels)


def domain_labels(n_source: int, n_target: int, like: torch.Tensor) -> torch.Tensor:
    """The domain classifier's targets for ``n_source`` source then ``n_target`` target examples: 0s, then 1s."""
    return torch.cat([torch.zeros(n_source, dtype=like.dtype, device=like.device),
                      torch.ones(n_target, dtype=like.dtype, device=like.device)])


def domain_loss_labelled(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss of domain logits against :func:`domain_labels` (for loops that reuse the labels)."""
    return F.binary_cross_entropy_with_logits(logits, labels)


def domain_loss(logit_source: torch.Tensor, logit_target: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss of the domain classifier over both domains (source 0, target 1)."""
    logits = torch.cat([logit_source, logit_target])
    return domain_loss_labelled(logits, domain_labels(len(logit_source), len(logit_target), logits))


def domain_correct(logit_source: torch.Tensor, logit_target: torch.Tensor) -> int:
    """Examples the domain classifier gets right (threshold 0.5 on P(target))."""
    return int((logit_source < 0).sum()) + int((logit_target >= 0).sum())
