"""Search efficiency: TPE + ASHA against random search without early stopping.

Same study, budget and number of trials; the figure is the training epochs (summed over trials, in
the order reports arrived) that TPE + ASHA spent before first reaching the best ``val_nelbo``
random search found, against the epochs random search spent to find it.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.stats import Measure


def _reports(uri: str, study: str) -> list[tuple[int, float]]:
    """(timestamp, value) of every val_nelbo report of the newest run of ``study``."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(study)
    runs = [r for r in client.search_runs([exp.experiment_id]) if "mlflow.parentRunId" in r.data.tags]
    out = []
    for r in runs:
        out += [(m.timestamp, m.value) for m in client.get_metric_history(r.info.run_id, "val_nelbo")]
    return sorted(out)


def _study(tmp: str, data_root: str, seed: int, searcher: str, scheduler: str, n: int, epochs: int) -> list:
    uri = f"sqlite:///{tmp}/{searcher}-{scheduler}.db"
    cmd = [sys.executable, "-m", "study.run", "vae_beta_sweep", "--profile", "smoke", "--num-samples", str(n),
           "--max-epochs", str(epochs), "--seed", str(seed), "--searcher", searcher, "--scheduler", scheduler,
           "--data-root", data_root, "--tracking-uri", uri, "--storage-path", str(Path(tmp) / "ray")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
    return _reports(uri, "vae_beta_sweep")


def epochs_to_reach(reports: list[tuple[int, float]], target: float) -> int | None:
    for i, (_, value) in enumerate(reports, start=1):
        if value <= target:
            return i
    return None


def run(data_root: str, quick: bool) -> dict:
    n, epochs, seeds = (3, 1, [0]) if quick else (16, 8, [0, 1, 2])
    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            rnd = _study(tmp, data_root, seed, "random", "fifo", n, epochs)
            tpe = _study(tmp, data_root, seed, "tpe", "asha", n, epochs)
        target = min(v for _, v in rnd)
        rows.append({"seed": seed, "target": target, "random_epochs": epochs_to_reach(rnd, target),
                     "random_total": len(rnd), "tpe_epochs": epochs_to_reach(tpe, target), "tpe_total": len(tpe),
                     "tpe_best": min(v for _, v in tpe)})
    # a seed where TPE + ASHA never reached random's best counts as infinitely expensive, not as absent
    ratios = [r["tpe_epochs"] / r["random_epochs"] if r["tpe_epochs"] is not None else math.inf for r in rows]
    return {"n": n, "epochs": epochs, "rows": rows, "ratio": Measure("compute ratio", "x", ratios)}
