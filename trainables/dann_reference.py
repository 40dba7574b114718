"""The train-on-target upper bound of Table 2: the same network trained on the *labelled* target
training images, once per dataset, in the study driver (``Family.prepare``), and cached.

It is a reference, not a configuration to choose: it sees labels DANN never sees, so it is no
trial of the study (a trial with it would win the selection). Its accuracies reach every trial as
assets and are logged with each report (``target_only_val_acc``, ``target_only_test_acc``).

Recipe (fixed, not tuned): the Figure 4(a) network with the paper's SGD (momentum 0.9, mu_0 0.01,
alpha 10, beta 0.75), batches of 64 labelled target images (the labelled half of a DANN batch),
:data:`EPOCHS` epochs (at least :data:`MIN_STEPS` steps on small subsets), no domain loss. Cached under ``DATA_ROOT/classifiers``
by a hash of the data and the recipe, written atomically.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from trainables import metric_names as M
from trainables.classifier import cache_dir
from trainables.dann import pixel_mean
from trainables.dann_config import DANNConfig
from trainables.dann_eval import outputs
from trainables.data.domains import DomainData
from trainables.device import pick_device, seed_everything
from trainables.images import uint8_to_float
from trainables.losses.dann import label_loss, lr_schedule
from trainables.models.dann import DeepDANN, build_dann

RECIPE = "target-only-v1"  # bump when the recipe changes: old caches are ignored
EPOCHS, BATCH, MIN_STEPS = 3, 64, 300  # 64 a step: as many labelled images as a DANN batch's source half


def train_on_target(data: DomainData, device: torch.device, seed: int = 0) -> DeepDANN:
    """The Figure 4(a) network trained on the labelled ``target_train`` split (see the module doc)."""
    seed_everything(seed)
    cfg = DANNConfig()
    model = build_dann(cfg).to(device)
    model.pixel_mean.copy_(pixel_mean(data))
    x = torch.from_numpy(np.array(data["target_train"].x)).to(device)
    y = torch.from_numpy(np.array(data["target_train"].y)).to(device)
    per_epoch = max(1, len(x) // BATCH)
    total = max(EPOCHS * per_epoch, MIN_STEPS)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for s in range(total):
        if s % per_epoch == 0:
            perm = torch.randperm(len(x), generator=gen)
        idx = perm[(s % per_epoch) * BATCH:(s % per_epoch + 1) * BATCH].to(device)
        for group in opt.param_groups:
            group["lr"] = lr_schedule(s / total, cfg.lr, cfg.lr_alpha, cfg.lr_beta)
        loss = label_loss(model(uint8_to_float(x[idx]))[0], y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def accuracies(model: DeepDANN, data: DomainData, device: torch.device) -> dict[str, float]:
    """``target_only_val_acc`` and ``target_only_test_acc`` of ``model``."""
    out = {}
    for key, split in ((M.TARGET_ONLY_VAL_ACC, "target_val"), (M.TARGET_ONLY_TEST_ACC, "target_test")):
        x = torch.from_numpy(np.array(data[split].x)).to(device)
        logits, _ = outputs(model, x, uint8_to_float)
        out[key] = float((logits.argmax(1).cpu().numpy() == data[split].y).mean())
    return out


def prepare_reference(data: DomainData, data_root: str | Path | None) -> dict:
    """``Family.prepare`` for ``dann``: the cached train-on-target model's accuracies (trained on first use).

    Returns:
        ``{"target_only_val_acc": float, "target_only_test_acc": float, "target_only_file": str}``.
    """
    device = pick_device()
    key = hashlib.sha1(f"{RECIPE}|{EPOCHS}|{BATCH}|{MIN_STEPS}|{data.digest()}".encode()).hexdigest()[:16]
    path = cache_dir(data_root) / f"dann-target-only-{key}.safetensors"
    if path.is_file():
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
        return {M.TARGET_ONLY_VAL_ACC: float(meta[M.TARGET_ONLY_VAL_ACC]),
                M.TARGET_ONLY_TEST_ACC: float(meta[M.TARGET_ONLY_TEST_ACC]), "target_only_file": str(path)}
    start = time.perf_counter()
    model = train_on_target(data, device)
    acc = accuracies(model, data, device)
    meta = {k: repr(v) for k, v in acc.items()} | {"recipe": RECIPE, "data": data.digest(),
                                                      "train_seconds": f"{time.perf_counter() - start:.1f}"}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return {**acc, "target_only_file": str(path)}
