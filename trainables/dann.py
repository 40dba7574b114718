"""The deep DANN's training loop (Ganin et al., JMLR 2016, section 5.2; Figure 4(a)): MNIST (source,
labelled) -> MNIST-M (target, unlabelled), ``train(cfg, reporter, data)``.

Every step takes ``batch_size / 2`` source images with their labels and ``batch_size / 2`` target
images (their labels are never read), runs them through the network in one batch, and minimises
``label_loss(source) + domain_loss(source, target)``: the domain classifier learns with weight 1,
the features receive its gradient reversed and scaled by lambda_p (the paper's λ_p "used only for
updating the feature extractor"). SGD with momentum, learning rate mu_p; both schedules run on the
training progress p in [0, 1]. ``lambda_max = 0`` trains the source-only model.

Data order is a function of (seed, epoch) and checkpoints hold the optimizer state and the step, so
a resumed trial continues exactly.

Departures from the paper (section 5.2) and the released code (pumpikano/tf-dann's MNIST-DANN
notebook; Ganin's Caffe code is not public):

* One epoch is one pass over the source training images in batches of ``batch_size / 2`` (the last
  partial batch left out); the target half cycles through permutations of the target images. The
  paper gives no training length; tf-dann trains 8,600 steps of 32 + 32 (about 5 source epochs).
* ``lambda_p`` is scaled by ``lambda_max`` (1 in the paper): the study searches it, and 0 gives the
  source-only network. The paper's source-only network is "trained without the domain loss";
  here its domain classifier still trains, on features it cannot change, so its features and
  predictions are those of source-only training with the same source batches (tf-dann's source-only
  mode uses whole batches of source images instead).
* Hyperparameters are chosen by the DEV risk (``val_dev_risk``, :mod:`trainables.dev`; You et al. 2019),
  a label-free criterion, not by the paper's reverse validation (cheaper: no second network is
  trained per report; see docs/families/dann.md). The labelled-target oracle ``target_val_acc`` is
  logged and selects only in the ``dann_mnist_m_oracle`` study.
* The train-on-target bound is trained once by the study driver with a fixed recipe
  (:mod:`trainables.dann_reference`), not tuned.
* Network, inputs and data: see :mod:`trainables.models.dann` and :mod:`trainables.data.mnist_m`.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from trainables import metric_names as M
from trainables.checkpoint import load_state, load_weights
from trainables.dann_config import DANNConfig
from trainables.dann_eval import evaluate, val_dev_risk
from trainables.data.domains import DomainData
from trainables.device import pick_device, seed_everything
from trainables.errors import Diverged
from trainables.images import uint8_to_float
from trainables.losses.dann import domain_loss, label_loss, lambda_schedule, lr_schedule
from trainables.models.dann import DeepDANN, build_dann
from trainables.reporting import Reporter

HELD_OUT = ("source_val", "source_test", "target_val", "target_test")


def pixel_mean(data: DomainData) -> torch.Tensor:
    """Per-channel mean ``(3, 1, 1)`` in [0, 1] over both domains' training images (grey ones count
    once per channel), as the released code's ``pixel_mean`` over MNIST and MNIST-M."""
    sums, count = np.zeros(3), 0
    for split in ("source_train", "target_train"):
        x = data[split].x
        sums += x.sum(axis=(0, 2, 3), dtype=np.float64) if x.shape[1] == 3 else x.sum(dtype=np.float64)
        count += x.shape[0] * x.shape[2] * x.shape[3]
    return torch.tensor(sums / count / 255.0, dtype=torch.float32).view(3, 1, 1)


def batch_order(seed: int, epoch: int, n_source: int, n_target: int, half: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The epoch's source and target indices, ``(steps, half)`` each: a permutation of the source
    images (the last partial batch dropped) and enough target permutations, end to end."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    steps = n_source // half
    source = torch.randperm(n_source, generator=gen)[:steps * half]
    target = torch.cat([torch.randperm(n_target, generator=gen) for _ in range(-(-steps * half // n_target))])
    return source.view(steps, half), target[:steps * half].view(steps, half)


def train(cfg: DANNConfig, reporter: Reporter, data: DomainData, resume_from: str | None = None,
          assets: dict | None = None) -> None:
    """Train ``cfg`` on ``data`` for ``cfg.max_epochs`` epochs, reporting ``reports_per_epoch`` times an epoch.

    Args:
        cfg: the trial's config.
        reporter: writes each report's checkpoint and reports it.
        data: source and target splits (restricted here to the config's subset sizes).
        resume_from: a checkpoint directory of an earlier call; training continues after its step.
        assets: from :func:`trainables.dann_reference.prepare_reference`: the train-on-target
            accuracies, logged with every report.
    Raises:
        Diverged: a training loss became non-finite.
        ValueError: fewer source training images than half a batch.
    """
    seed_everything(cfg.seed)
    device = pick_device()
    data = data.restrict(cfg.source_train_size, cfg.target_train_size, cfg.eval_size)
    half = cfg.batch_size // 2
    if len(data["source_train"].x) < half:
        raise ValueError(f"{len(data['source_train'].x)} source training images cannot fill half a batch "
                         f"of {cfg.batch_size}")
    tensor = lambda a: torch.from_numpy(np.array(a)).to(device)  # noqa: E731
    xs, ys, xt = tensor(data["source_train"].x), tensor(data["source_train"].y), tensor(data["target_train"].x)
    held_out = {k: (tensor(data[k].x), tensor(data[k].y)) for k in HELD_OUT if k in data.splits}
    model = build_dann(cfg).to(device)
    model.pixel_mean.copy_(pixel_mean(data))
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    per_epoch = len(xs) // half
    total = per_epoch * cfg.max_epochs
    n_reports = cfg.n_reports
    ends = [round(k * total / n_reports) for k in range(1, n_reports + 1)]
    step, first = 0, 1
    if resume_from is not None:
        load_weights(resume_from, model)
        state = load_state(resume_from, device)
        opt.load_state_dict(state["optimizer"])
        step, first = int(state["step"]), int(state["report"]) + 1
    base = {M.N_PARAMS: sum(p.numel() for p in model.parameters())}
    for key in (M.TARGET_ONLY_VAL_ACC, M.TARGET_ONLY_TEST_ACC):
        if assets and key in assets:
            base[key] = assets[key]

    for k in range(first, n_reports + 1):
        start = time.perf_counter()
        losses = _train(model, opt, (xs, ys, xt), cfg, step, ends[k - 1], per_epoch, total)
        seconds = time.perf_counter() - start
        step = ends[k - 1]
        p = step / total
        metrics = {M.EPOCH: step / per_epoch, **base, **evaluate(model, held_out, uint8_to_float),
                   **val_dev_risk(model, held_out["source_val"], xs, xt, uint8_to_float), **losses,
                   M.LAMBDA_P: lambda_schedule(p, cfg.gamma, cfg.lambda_max),
                   M.LR_P: lr_schedule(p, cfg.lr, cfg.lr_alpha, cfg.lr_beta),
                   M.SAMPLES_PER_S: (ends[k - 1] - (ends[k - 2] if k > 1 else 0)) * cfg.batch_size / seconds}
        reporter(k, metrics, model, cfg.to_dict(), {"optimizer": opt.state_dict(), "step": step, "report": k})


def _train(model: DeepDANN, opt, tensors, cfg: DANNConfig, start: int, end: int, per_epoch: int,
           total: int) -> dict[str, float]:
    """Steps ``start`` .. ``end - 1``; returns the mean label and domain losses over them."""
    xs, ys, xt = tensors
    half = cfg.batch_size // 2
    model.train()
    sums = torch.zeros(2, dtype=torch.float64, device=xs.device)
    order, order_epoch = None, -1
    for s in range(start, end):
        epoch, j = divmod(s, per_epoch)
        if epoch != order_epoch:
            order, order_epoch = batch_order(cfg.seed, epoch, len(xs), len(xt), half), epoch
        idx_s, idx_t = order[0][j].to(xs.device), order[1][j].to(xs.device)
        p = s / total
        for group in opt.param_groups:
            group["lr"] = lr_schedule(p, cfg.lr, cfg.lr_alpha, cfg.lr_beta)
        x = torch.cat([uint8_to_float(xs[idx_s]).expand(-1, 3, -1, -1), uint8_to_float(xt[idx_t])])
        logits, domain = model(x, lambda_schedule(p, cfg.gamma, cfg.lambda_max))
        l_label, l_domain = label_loss(logits[:half], ys[idx_s]), domain_loss(domain[:half], domain[half:])
        loss = l_label + l_domain
        if not torch.isfinite(loss):
            raise Diverged(f"diverged: non-finite loss at step {s} (epoch {epoch + 1})")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sums += torch.stack([l_label, l_domain]).detach().double()
    means = (sums / max(1, end - start)).tolist()
    return {M.LABEL_LOSS: means[0], M.DOMAIN_LOSS: means[1]}
