"""The shallow DANN's training loop on the two moons (Ganin et al., JMLR 2016, Algorithm 1, section
5.1.1): ``train(cfg, reporter, data)``.

Each step takes the next ``batch_size`` source points in their stored order (Algorithm 1 walks the
source sample in order; a last partial batch is left out) and as many target points drawn uniformly
with replacement, and makes one plain SGD step on

    cross-entropy(source) + lambda_adapt * (logistic(source, 0) + logistic(target, 1))

where the domain regressor descends on its loss and the hidden layer receives that gradient
reversed (``adversarial=True``: DANN) or not at all (``adversarial=False``: the standard NN, whose
domain regressor still learns, on a representation it cannot shape). With ``batch_size=1`` this is
the update of the authors' ``DANN.py`` (same initialisation, learning rate and weighting; the
domain regressor there predicts P(source), here P(target): the same classifier mirrored).

Data order is a function of (seed, epoch); a checkpoint holds the step, so a resume is exact.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from trainables import metric_names as M
from trainables.checkpoint import load_state, load_weights
from trainables.dann_config import MoonsConfig
from trainables.dann_eval import evaluate, val_dev_risk
from trainables.data.domains import DomainData
from trainables.device import pick_device, seed_everything
from trainables.errors import Diverged
from trainables.losses.dann import domain_labels, domain_loss_labelled, label_loss
from trainables.models.dann import ShallowDANN, build_moons_model
from trainables.reporting import Reporter


def report_epochs(cfg: MoonsConfig) -> list[int]:
    """The epochs after which a trial reports: ``reports`` of them, evenly spaced, the last ``max_epochs``."""
    return [round(k * cfg.max_epochs / cfg.reports) for k in range(1, cfg.reports + 1)]


def target_draws(seed: int, epoch: int, steps: int, batch: int, n_target: int) -> torch.Tensor:
    """The epoch's target indices ``(steps, batch)``, uniform with replacement (Algorithm 1)."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randint(n_target, (steps, batch), generator=gen)


def train(cfg: MoonsConfig, reporter: Reporter, data: DomainData, resume_from: str | None = None,
          assets: dict | None = None) -> None:
    """Train ``cfg`` on the moons for ``cfg.max_epochs`` epochs, reporting ``cfg.reports`` times.

    Args:
        cfg: the trial's config.
        reporter: writes each report's checkpoint and reports it.
        data: the moons (:func:`trainables.data.moons.load_moons`).
        resume_from: a checkpoint directory of an earlier call; training continues after its epoch.
        assets: unused (no ``Family.prepare`` for the moons).
    Raises:
        Diverged: the training loss became non-finite.
    """
    seed_everything(cfg.seed)
    device = pick_device()
    tensor = lambda a: torch.from_numpy(np.array(a)).to(device)  # noqa: E731
    xs, ys, xt = tensor(data["source_train"].x), tensor(data["source_train"].y), tensor(data["target_train"].x)
    held_out = {k: (tensor(data[k].x), tensor(data[k].y))
                for k in ("source_val", "source_test", "target_val", "target_test")}
    model = build_moons_model(cfg).to(device)
    epoch, first = 0, 1
    if resume_from is not None:
        load_weights(resume_from, model)
        state = load_state(resume_from, device)
        epoch, first = int(state["epoch"]), int(state["report"]) + 1
    n_params = sum(p.numel() for p in model.parameters())
    for k, until in list(enumerate(report_epochs(cfg), 1))[first - 1:]:
        start = time.perf_counter()
        sums, steps = torch.zeros(2, dtype=torch.float64), 0
        for e in range(epoch, until):
            epoch_sums, epoch_steps = _epoch(model, xs, ys, xt, cfg, e)
            sums, steps = sums + epoch_sums, steps + epoch_steps
        seconds = time.perf_counter() - start
        points = (until - epoch) * len(xs)
        epoch = until
        metrics = {M.EPOCH: epoch, M.N_PARAMS: n_params, **evaluate(model, held_out, lambda x: x),
                   **val_dev_risk(model, held_out["source_val"], xs, xt, lambda x: x),
                   M.LABEL_LOSS: float(sums[0] / max(1, steps)), M.DOMAIN_LOSS: float(sums[1] / max(1, steps)),
                   M.SAMPLES_PER_S: points / max(seconds, 1e-9)}
        reporter(k, metrics, model, cfg.to_dict(), {"epoch": epoch, "report": k})


def _epoch(model: ShallowDANN, xs, ys, xt, cfg: MoonsConfig, epoch: int) -> tuple[torch.Tensor, int]:
    """One pass over the source points; returns the summed (label, domain) losses and the step count."""
    model.train()
    b = cfg.batch_size
    steps = len(xs) // b  # a last partial batch (batch_size not dividing the points) is left out
    source = torch.arange(steps * b, device=xs.device).view(steps, b)
    draws = target_draws(cfg.seed, epoch, steps, b, len(xt)).to(xs.device)
    inputs, labels = torch.cat([xs[source], xt[draws]], dim=1), ys[source]  # (steps, 2b, 2), (steps, b)
    domains = domain_labels(b, b, xs)
    params = list(model.parameters())
    coeff = 1.0 if cfg.adversarial else 0.0
    sums = torch.zeros(2, dtype=torch.float64, device=xs.device)
    for j in range(steps):
        logits, domain = model(inputs[j], coeff)
        l_label = label_loss(logits[:b], labels[j])
        l_domain = 2.0 * domain_loss_labelled(domain, domains)  # the mean over source plus the mean over target
        loss = l_label + cfg.lambda_adapt * l_domain
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            torch._foreach_add_(params, grads, alpha=-cfg.lr)  # plain SGD, one fused update
        sums += torch.stack([l_label.detach(), l_domain.detach()]).double()
    if not torch.isfinite(sums).all():
        raise Diverged(f"diverged: non-finite loss in epoch {epoch + 1}")
    return sums.cpu(), steps
