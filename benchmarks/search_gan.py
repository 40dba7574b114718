"""Search at equal compute on ``gan_loss_sweep``: population-based training, TPE + ASHA and random search.

Every method runs ``gan_loss_sweep`` on the smoke profile's space (widths 16–32, depth 2–3, 500 generated images
scored a report) with :data:`TRAIN_SIZE` MNIST training images (``--quick``: the smoke profile's 2,048), ``epochs``
epochs of 2 reports each, without the study's enqueued baselines, confirmation runs or published model, with its
own search seed:

- ``random+pbt``: ``--scheduler pbt``, a random population of ``n`` trials (study.pbt);
- ``random+fifo``: random search, ``n`` trials trained to the end;
- ``tpe+asha``: TPE proposes up to ``ASHA_PROPOSALS`` x ``n`` configurations, ASHA stops the weak ones.

Compute is counted in training images the discriminator processed (D steps x batch size), which is the same
for every report of every trial (batch size and reports per epoch are fixed), so a run's compute is its
reports so far x ``images_per_report``; a PBT trial's reports after an exploit continue another trial's
weights, and each is counted as the one report it trains. PBT and random + FIFO both process B = n x reports
a trial x images a report; TPE + ASHA is cut at B. The figure of merit is the best ``val_fid`` reported
within B, with the ``test_fid`` of that same report beside it. TPE + ASHA's study is stopped once it has
reported B's worth (benchmarks.search.run_until).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.search import STOPPED, run_until
from record import schema as S
from trainables.metric_names import TEST_FID, VAL_FID

STUDY = "gan_loss_sweep"
METHODS = (("random", "pbt"), ("tpe", "asha"), ("random", "fifo"))
ASHA_PROPOSALS = 2  # smoke ASHA (grace 2 reports, factor 2) averages ~3 of 4 reports a trial: 2n proposals pass B
BATCH = 64  # GANConfig's batch_size, not searched
# Enough for the GANs to learn: on the smoke profile's 2,048 images, 2 epochs leave every method at val_fid
# 1,271-1,293 (a generator that has barely started; BENCHMARKS.md kept that run's table); 2 epochs of 20,480 took an
# lsgan trial from 917 to 373 and a wgan_gp trial from 1,254 to 938 (measured 2026-12-03), about 5 minutes a study
# on 2 cores. All 50,000 training images would take 2.5x longer for 3 methods x 3 seeds.
TRAIN_SIZE = 20_480


def images_per_report(train_size: int, reports_per_epoch: int, batch: int = BATCH) -> int:
    """Real images D processes between two reports: an epoch's whole batches split into its reports."""
    return (train_size // batch) * batch // reports_per_epoch


def best_within(reports: list[tuple[int, float, float]], per_report: int, budget: int) -> tuple[float, float, int]:
    """``reports`` = (timestamp ms, val_fid, test_fid) of every report of every trial -> the best val_fid among
    the reports that arrived within ``budget`` images, the test_fid of that report, and the images counted
    (inf, nan, images when no report has a finite val_fid)."""
    within = sorted(reports)[:budget // per_report]
    finite = [r for r in within if math.isfinite(r[1])]
    best = min(finite, key=lambda r: r[1]) if finite else (0, math.inf, math.nan)
    return best[1], best[2], len(within) * per_report


def _reports(uri: str) -> list[tuple[int, float, float]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(STUDY)
    out = []
    for r in client.search_runs([exp.experiment_id]):
        if S.PARENT_RUN_ID not in r.data.tags:
            continue
        test = {m.step: m.value for m in client.get_metric_history(r.info.run_id, TEST_FID)}
        out += [(m.timestamp, m.value, test.get(m.step, math.nan))
                for m in client.get_metric_history(r.info.run_id, VAL_FID)]
    return out


def _study(tmp: str, data_root: str, seed: int, method: tuple[str, str], proposals: int, epochs: int,
           train_size: int, stop_after: int) -> tuple[list, float]:
    searcher, scheduler = method
    uri = f"sqlite:///{tmp}/{searcher}-{scheduler}-{seed}.db"
    cmd = [sys.executable, "-m", "study.run", STUDY, "--profile", "smoke", "--num-samples", str(proposals),
           "--max-epochs", str(epochs), "--seed", str(seed), "--searcher", searcher, "--scheduler", scheduler,
           "--set", "image_every=1000", "--set", f"train_size={train_size}", "--confirm", "0", "--no-baselines", "--no-publish",
           "--data-root", data_root, "--tracking-uri", uri, "--storage-path", str(Path(tmp) / "ray")]
    start = time.perf_counter()
    rc, out = run_until(cmd, Path(tmp) / f"{searcher}-{scheduler}-{seed}.db",
                        stop_after if scheduler == "asha" else None, metric=VAL_FID)  # the others end at B
    if rc not in (0, STOPPED):
        raise RuntimeError(" ".join(cmd) + "\n" + out[-4000:])
    return _reports(uri), time.perf_counter() - start


def run(data_root: str, quick: bool, seeds: int | None = None, keep: Path | None = None) -> dict:
    """Every method over ``seeds`` search seeds at equal compute; ``keep``: each study run's reports are written
    there as it ends and read back instead of measured again."""
    from search_spaces import STUDIES

    n, epochs, n_seeds = (2, 1, 1) if quick else (6, 2, 3)
    n_seeds = seeds or n_seeds
    fixed = STUDIES[STUDY].profiles["smoke"].fixed
    train_size, rpe = (fixed["train_size"] if quick else TRAIN_SIZE), fixed["reports_per_epoch"]
    per_report = images_per_report(train_size, rpe)
    budget = n * epochs * rpe * per_report
    rows: dict[tuple[str, str], list[tuple[float, float, int]]] = {m: [] for m in METHODS}
    wall: dict[tuple[str, str], list[float]] = {m: [] for m in METHODS}
    for seed in range(n_seeds):
        with tempfile.TemporaryDirectory() as tmp:
            for method in METHODS:
                proposals = ASHA_PROPOSALS * n if method[1] == "asha" else n
                key = f"gan-{'-'.join(method)}-seed{seed}-n{proposals}-e{epochs}-t{train_size}"
                path = keep / f"{key}.json" if keep else None
                kept = json.loads(path.read_text()) if path and path.is_file() else None
                print(f"[benchmarks] search_gan: seed {seed}, {'+'.join(method)}, {proposals} proposals"
                      + (" (kept from an earlier run)" if kept else ""), file=sys.stderr, flush=True)
                if kept is None:
                    reports, seconds = _study(tmp, data_root, seed, method, proposals, epochs, train_size,
                                              budget // per_report)
                    kept = {"reports": reports, "wall": seconds}
                    if path:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(json.dumps(kept))
                rows[method].append(best_within([tuple(r) for r in kept["reports"]], per_report, budget))
                wall[method].append(kept["wall"])
    return {"n": n, "epochs": epochs, "reports_per_epoch": rpe, "train_size": train_size, "seeds": n_seeds,
            "per_report": per_report, "budget": budget, "rows": rows, "wall": wall}


def spread(values: list[float]) -> str:
    """median (min–max), or the one value."""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"
