"""Platform overhead: N identical trials through ``python -m study.run`` (Ray Tune, MLflow,
checkpoints) against the same ``fit`` called N times in one plain Python process.

Both are whole-process wall times (imports and data loading included), with the same threads and
one trial at a time. Every searched key is fixed with ``--set``, so all trials do the same work, and
identical results never fall below ASHA's cutoff, so no trial is stopped early.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.stats import Measure, timed

FIXED = {"arch": "mlp", "depth": 1, "width": 400, "latent_dim": 20, "beta": 1.0, "batchnorm": False,
         "dropout": 0.0, "lr": 1e-3, "batch_size": 128, "beta_schedule": "constant", "image_every": 1000}
PLAIN = """
import sys, time, torch
from trainables.data import load_dataset
from trainables.families import FAMILIES
from trainables.vae_config import VAEConfig
n, threads, root, cfg = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], eval(sys.argv[4])
torch.set_num_threads(threads)
data = load_dataset("mnist", root)
for _ in range(n):
    FAMILIES["vae"].fit(VAEConfig(**cfg), lambda m, d: None, data)
"""


def _config(train_size: int, epochs: int) -> dict:
    return {**FIXED, "dataset": "mnist", "train_size": train_size, "max_epochs": epochs}


def plain(n: int, cfg: dict, data_root: str, threads: int) -> float:
    seconds, proc = timed(lambda: subprocess.run(
        [sys.executable, "-c", PLAIN, str(n), str(threads), data_root, repr(cfg)], capture_output=True, text=True))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return seconds


def through_study(n: int, cfg: dict, data_root: str, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        sets = [a for k, v in cfg.items() if k not in ("max_epochs",) for a in ("--set", f"{k}={v}")]
        cmd = [sys.executable, "-m", "study.run", "vae_beta_sweep", "--profile", "smoke", "--num-samples", str(n),
               "--max-epochs", str(cfg["max_epochs"]), *sets, "--max-concurrent", "1",
               "--cpus-per-trial", str(threads), "--data-root", data_root,
               "--tracking-uri", f"sqlite:///{tmp}/m.db", "--storage-path", str(Path(tmp) / "ray")]
        seconds, proc = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
        if f"{n} trained: {n} finished" not in proc.stdout:
            raise RuntimeError("not every trial ran to the end:\n" + proc.stdout[-2000:])
        return seconds


def run(data_root: str, quick: bool, threads: int) -> dict:
    # (label, trials, train_size, epochs, runs): about 5 s and about 60 s of training per trial on 2 cores
    cases = [("~5 s trials", 1, 5_000, 1, 1)] if quick else [("~5 s trials", 4, 40_000, 3, 3),
                                                              ("~60 s trials", 2, 60_000, 22, 2)]
    out = []
    for label, n, size, epochs, repeats in cases:
        cfg = _config(size, epochs)
        base, study = Measure("plain", "s"), Measure("study.run", "s")
        for _ in range(repeats):
            base.values.append(plain(n, cfg, data_root, threads))
            study.values.append(through_study(n, cfg, data_root, threads))
        ratio = Measure("ratio", "x", [s / b for s, b in zip(study.values, base.values)])
        out.append({"label": label, "n": n, "train_size": size, "epochs": epochs, "repeats": repeats, "plain": base,
                    "study": study, "ratio": ratio, "per_trial_overhead": Measure(
                        "per trial", "s", [(s - b) / n for s, b in zip(study.values, base.values)])})
    return {"cases": out, "threads": threads}
