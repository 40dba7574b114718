"""Evaluation shared by the DANN families: label accuracies on every held-out split and the domain
classifier's accuracy, from one pass of the model over each split; and the label-free selection
criterion, the DEV risk (:mod:`trainables.dev`), from the source validation split and unlabelled
training inputs of both domains."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from trainables import metric_names as M
from trainables.dev import dev_of
from trainables.losses.dann import domain_correct

EVAL_BATCH = 1000
Inputs = Callable[[torch.Tensor], torch.Tensor]  # stored rows -> network input (uint8 images -> floats)


@torch.no_grad()
def outputs(model: nn.Module, x: torch.Tensor, inputs: Inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """``(label logits, domain logits)`` of ``model`` over ``x``, in batches, in eval mode."""
    model.eval()
    labels, domains = [], []
    for i in range(0, len(x), EVAL_BATCH):
        a, d = model(inputs(x[i:i + EVAL_BATCH]))
        labels.append(a)
        domains.append(d)
    return torch.cat(labels), torch.cat(domains)


def evaluate(model: nn.Module, held_out: dict[str, tuple[torch.Tensor, torch.Tensor]],
             inputs: Inputs) -> dict[str, float]:
    """``source_acc``, ``target_val_acc``, ``target_test_acc`` and ``domain_acc`` on the held-out
    splits (``{"source_test": (x, y), "target_val": ..., "target_test": ..., "source_val"?: ...}``).

    The domain accuracy compares the source validation split (the source test split when there is
    none) with the target validation split, the first n of each, n the smaller size.
    """
    out = {}
    logits = {}
    for split, (x, y) in held_out.items():
        a, d = outputs(model, x, inputs)
        logits[split] = d
        out[split] = float((a.argmax(1) == y).float().mean())
    source = logits["source_val"] if "source_val" in logits else logits["source_test"]
    n = min(len(source), len(logits["target_val"]))
    return {M.SOURCE_ACC: out["source_test"], M.TARGET_VAL_ACC: out["target_val"],
            M.TARGET_TEST_ACC: out["target_test"],
            M.DOMAIN_ACC: domain_correct(source[:n], logits["target_val"][:n]) / (2 * n)}


@torch.no_grad()
def features(model: nn.Module, x: torch.Tensor, inputs: Inputs) -> torch.Tensor:
    """``model.features`` (the label predictor's and domain classifier's input) over ``x``, in batches, in eval mode."""
    model.eval()
    return torch.cat([model.features(inputs(x[i:i + EVAL_BATCH])) for i in range(0, len(x), EVAL_BATCH)])


@torch.no_grad()
def val_dev_risk(model: nn.Module, source_val: tuple[torch.Tensor, torch.Tensor], source_train_x: torch.Tensor,
                 target_train_x: torch.Tensor, inputs: Inputs) -> dict[str, float]:
    """``{"val_dev_risk": ...}``: the DEV estimate of the target error rate (0-1 loss) of ``model``.

    The per-example losses are 0-1 errors on the labelled source validation split (``get_dev_risk``'s
    "typically 0 for correct classification and 1 for wrong"); the density ratio comes from a domain
    classifier on the features of the first ``len(source_val)`` source training inputs and as many
    unlabelled target training inputs (fewer when a split is smaller). Takes no target labels.
    """
    x, y = source_val
    n = len(x)
    f_val = features(model, x, inputs)
    errors = (model.label(f_val).argmax(1) != y).double()
    risk = dev_of(f_val, errors, features(model, source_train_x[:n], inputs),
                  features(model, target_train_x[:n], inputs))
    return {M.VAL_DEV_RISK: risk}
