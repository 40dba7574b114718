"""The feature classifier behind ``fid``: a small CNN trained once per dataset and cached.

:func:`prepare_assets` runs in the study driver before any trial (``Family.prepare``): it loads the
classifier cached for this exact dataset (a fingerprint of its arrays) or trains one, and returns
the assets every GAN trial receives: the classifier's weights, its test accuracy, and the feature
statistics of the test set that generated images are compared with.
"""

from __future__ import annotations

import math
import os
import stat
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from trainables.data import ImageData
from trainables.device import pick_device, seed_everything
from trainables.fid import FeatureStats
from trainables.images import uint8_to_float
from trainables.metric_labels import CLASSIFIER_FEATURE_DIM

ARCH_VERSION = "cnn-v2"  # bump when the network or its training changes: old caches are ignored
FEATURE_DIM = CLASSIFIER_FEATURE_DIM
EPOCHS, BATCH, LR = 2, 128, 3e-3  # Adam + one-cycle: 99.2-99.3% on MNIST in 2 epochs (measured)
MIN_STEPS = 400  # small datasets (digits, synthetic, test files) train for more epochs
EVAL_BATCH = 1000


class Classifier(nn.Module):
    """Three conv-bn-relu stages (16, 32, 64 channels; two max-pools) and a 128-d feature layer.

    Light enough to train in about a minute on 2 CPU cores; works for 28 and 32 px images.
    """

    def __init__(self, shape: tuple[int, int, int], num_classes: int):
        super().__init__()
        c, h, w = shape

        def stage(c_in: int, c_out: int, pool: bool) -> list[nn.Module]:
            layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            return layers + [nn.MaxPool2d(2)] if pool else layers

        self.features = nn.Sequential(
            *stage(c, 16, True), *stage(16, 32, True), *stage(32, 64, False),  # (B, 64, H/4, W/4)
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * (h // 4) * (w // 4), FEATURE_DIM), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(FEATURE_DIM, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@torch.no_grad()
def features_and_probs(model: Classifier, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows ``(N, 128)`` and class probabilities ``(N, K)`` of images ``(N, C, H, W)`` in [0, 1]."""
    model.eval()
    feats, probs = [], []
    for i in range(0, len(images), EVAL_BATCH):
        f = model.features(images[i:i + EVAL_BATCH].float())
        feats.append(f.double().cpu().numpy())
        probs.append(torch.softmax(model.head(f), dim=1).double().cpu().numpy())
    return np.concatenate(feats), np.concatenate(probs)


def train_classifier(data: ImageData, device: torch.device, seed: int = 0) -> tuple[Classifier, float]:
    """Train on ``data``'s training images; returns the model (eval mode) and its test accuracy."""
    seed_everything(seed)
    torch.set_flush_denormal(True)  # tiny late-training gradients turn denormal and slow CPU training 10x
    model = Classifier(data.image_shape, data.num_classes).to(device)
    x = torch.from_numpy(np.array(data.x_train)).to(device)
    y = torch.from_numpy(np.array(data.y_train)).to(device)
    per_epoch = max(1, len(x) // BATCH)
    epochs = max(EPOCHS, math.ceil(MIN_STEPS / per_epoch))
    steps = epochs * per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=max(steps, 1))
    gen = torch.Generator(device=device).manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen, device=device)
        for b in range(per_epoch):
            idx = perm[b * BATCH:(b + 1) * BATCH]
            loss = nn.functional.cross_entropy(model(uint8_to_float(x[idx])), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval(), accuracy(model, data, device)


def accuracy(model: Classifier, data: ImageData, device: torch.device) -> float:
    x = uint8_to_float(torch.from_numpy(np.array(data.x_test)).to(device))
    _, probs = features_and_probs(model, x)
    return float((probs.argmax(axis=1) == data.y_test).mean())


def fingerprint(data: ImageData) -> str:
    """A short hash of the network version and the dataset's arrays: a cached classifier is reused only
    for the same data and the same splits."""
    return f"{ARCH_VERSION}-{data.digest()}"


def cache_dir(data_root: str | Path | None, folder: str = "classifiers") -> Path:
    """``DATA_ROOT/<folder>`` when the data root is writable, else ``~/.cache/genstudy/<folder>``."""
    if data_root is not None and _writable(Path(data_root).expanduser()):
        d = Path(data_root).expanduser() / folder
        try:
            d.mkdir(exist_ok=True)
            return d
        except OSError:
            pass
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    d = Path(cache) / "genstudy" / folder
    d.mkdir(parents=True, exist_ok=True)
    return d


def _writable(folder: Path) -> bool:
    """Writable by this process and not marked read-only (root passes ``os.access`` on r-x folders)."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK) and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def load_or_train(data: ImageData, data_root: str | Path | None) -> tuple[Classifier, float, Path]:
    """The cached classifier for ``data`` (trained and cached on first use), its test accuracy and file.

    Processes that want the same classifier at once (two studies, or a study and an export, started on a machine
    whose cache is empty) take turns on a lock file beside it: the first trains (about a minute on 2 cores), the
    others then load what it cached instead of each training its own copy."""
    from filelock import FileLock  # a dependency of torch's

    path = cache_dir(data_root) / f"{data.name}-{fingerprint(data)}.safetensors"
    with FileLock(str(path) + ".lock"):
        return _load_or_train(data, path)


def _load_or_train(data: ImageData, path: Path) -> tuple[Classifier, float, Path]:
    device = pick_device()
    model = Classifier(data.image_shape, data.num_classes)
    if path.is_file():
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            acc = float(f.metadata()["test_accuracy"])
        model.load_state_dict(load_file(str(path)))
        return model.to(device).eval(), acc, path
    start = time.perf_counter()
    model, acc = train_classifier(data, device)
    meta = {"test_accuracy": f"{acc:.6f}", "dataset": data.name, "arch": ARCH_VERSION, "min_steps": str(MIN_STEPS),
            "train_seconds": f"{time.perf_counter() - start:.1f}", "n_train": str(len(data.x_train))}
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return model, acc, path


def prepare_assets(data: ImageData, data_root: str | Path | None) -> dict:
    """``Family.prepare`` for GANs: classifier weights and accuracy, reference feature statistics.

    The classifier trains on the training split only. Generated images are compared with the
    validation images (``val_fid``, the study metric) and with the test images (``test_fid``, reported).

    Returns:
        ``{"classifier": state dict (CPU tensors), "classifier_accuracy": float (test split),
        "classifier_file": str, "refs": {"val": FeatureStats.to_dict(), "test": ...}}``.
    """
    model, acc, path = load_or_train(data, data_root)
    device = next(model.parameters()).device
    refs = {}
    for split in ("val", "test"):
        x = uint8_to_float(torch.from_numpy(np.array(getattr(data, f"x_{split}"))).to(device))
        refs[split] = FeatureStats.of(features_and_probs(model, x)[0]).to_dict()
    assets = {"classifier": {k: v.detach().cpu() for k, v in model.state_dict().items()},
              "classifier_accuracy": acc, "classifier_file": str(path), "refs": refs}
    return assets


def classifier_from_assets(assets: dict, shape: tuple[int, int, int], device: torch.device) -> Classifier:
    state = assets["classifier"]
    model = Classifier(shape, state["head.1.weight"].shape[0])
    model.load_state_dict(state)
    return model.to(device).eval()
