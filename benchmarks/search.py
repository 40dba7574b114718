"""Search efficiency at equal compute: random + FIFO, random + ASHA, TPE + FIFO and TPE + ASHA.

Every method runs ``vae_beta_sweep`` on the same data and per-trial budget (the quick profile's
space with ``arch=mlp`` fixed, so that 5 seeds of 4 methods fit in about an hour on 2 cores; its ASHA
settings; ``train_size`` training images, ``epochs`` epochs per trial), without the study's enqueued
baselines, with its own search seed. Compute is counted in training images processed: each report of a trial is one epoch
of ``train_size`` images, summed over all trials in the order the driver received the reports (the
timestamps MLflow holds); wall time is the seconds from the study's first report. The anytime curve
of a run is the best ``val_nelbo`` reported so far against that compute.

Random + FIFO, the baseline, runs ``n`` trials to the end; its compute ``B`` is the budget. The other
methods propose until their compute passes ``B`` (ASHA stops trials early, so they get more
proposals for the same compute) and are compared on their curves cut at ``B``:

A study whose compute reaches ``B`` is stopped there (:func:`run_until`): nothing after ``B`` counts, so
this only saves time (about 40% of an ASHA run's).

- equal compute: is the method's best at ``B`` at least as good as random + FIFO's?
- compute to reach: the fraction of ``B`` a method spent before its best-so-far first reached random +
  FIFO's final best (∞ when it never did within ``B``).
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.stats import Measure
from record import schema as S
from trainables.metric_names import VAL_NELBO

METHODS = (("random", "fifo"), ("random", "asha"), ("tpe", "fifo"), ("tpe", "asha"))
BASELINE = ("random", "fifo")
QUICK_METHODS = (BASELINE, ("tpe", "asha"))  # --quick checks the harness on the baseline and the method it judges
STUDY = "vae_beta_sweep"
ASHA_PROPOSALS = 3  # ASHA runs propose up to this many times the baseline's trials, and are cut at its compute
PAIR = (("random", "asha"), ("tpe", "asha"))  # the per-seed comparison: does TPE beat random search under ASHA?


def budget(n: int, epochs: int, train_size: int) -> int:
    """Random + FIFO's compute B in training images: ``n`` trials, each trained ``epochs`` epochs of ``train_size``."""
    return n * epochs * train_size


def per_seed(first: list[float], second: list[float]) -> tuple[list[tuple[int, float, float, float, bool]], int]:
    """Seed by seed, two methods' best at B -> rows (seed, first, second, second - first, second at least as
    good) and how many seeds the second was at least as good in (lower is better)."""
    rows = [(seed, a, b, b - a, b <= a + 1e-9) for seed, (a, b) in enumerate(zip(first, second))]
    return rows, sum(row[4] for row in rows)


@dataclass(frozen=True)
class Curve:
    """One study run's anytime curve: at each report, images processed so far and the best value so far."""

    images: list[int]
    seconds: list[float]
    best: list[float]

    def best_at(self, budget: float) -> float:
        """The best value reported within ``budget`` images (inf before the first report)."""
        values = [b for i, b in zip(self.images, self.best) if i <= budget]
        return values[-1] if values else math.inf

    def images_to_reach(self, target: float) -> float:
        """Images processed when the best first reached ``target`` (inf if it never did)."""
        return next((i for i, b in zip(self.images, self.best) if b <= target), math.inf)

    def seconds_at(self, budget: float) -> float:
        within = [s for i, s in zip(self.images, self.seconds) if i <= budget]
        return within[-1] if within else 0.0


def curve(reports: list[tuple[int, float]], images_per_report: int) -> Curve:
    """``reports`` = (timestamp ms, value) of every report of every trial -> the anytime curve."""
    reports = sorted(reports)
    images, seconds, best = [], [], []
    start = reports[0][0] if reports else 0
    so_far = math.inf
    for k, (stamp, value) in enumerate(reports, start=1):
        if math.isfinite(value):
            so_far = min(so_far, value)
        images.append(k * images_per_report)
        seconds.append((stamp - start) / 1000)
        best.append(so_far)
    return Curve(images, seconds, best)


def _reports(uri: str) -> list[tuple[int, float]]:
    """(timestamp, val_nelbo) of every report of every trial of the newest run of the study."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(STUDY)
    runs = [r for r in client.search_runs([exp.experiment_id]) if S.PARENT_RUN_ID in r.data.tags]
    return [(m.timestamp, m.value) for r in runs for m in client.get_metric_history(r.info.run_id, VAL_NELBO)]


def _study(tmp: str, data_root: str, seed: int, method: tuple[str, str], n: int, epochs: int,
           train_size: int, extra: tuple[str, ...], n_baseline: int, poll_s: float) -> tuple[Curve, float]:
    searcher, scheduler = method
    uri = f"sqlite:///{tmp}/{searcher}-{scheduler}-{seed}.db"
    cmd = [sys.executable, "-m", "study.run", STUDY, "--profile", "quick", "--num-samples", str(n),
           "--max-epochs", str(epochs), "--seed", str(seed), "--searcher", searcher, "--scheduler", scheduler,
           "--set", f"train_size={train_size}", "--set", "image_every=1000", "--set", "arch=mlp", "--confirm", "0", "--no-baselines",
           "--no-publish",  # the searchers are compared on what they train; publishing the best is the same for all
           "--data-root", data_root, "--tracking-uri", uri, "--storage-path", str(Path(tmp) / "ray"), *extra]
    start = time.perf_counter()
    stop_after = None if method == BASELINE else budget(n_baseline, epochs, train_size) // train_size
    rc, out = run_until(cmd, Path(tmp) / f"{searcher}-{scheduler}-{seed}.db", stop_after, poll_s)
    if rc not in (0, STOPPED):
        raise RuntimeError(" ".join(cmd) + "\n" + out[-4000:])
    return curve(_reports(uri), train_size), time.perf_counter() - start


STOPPED = 128 + signal.SIGTERM  # study.run's exit status after a graceful SIGTERM (study.interrupts)


def reports_logged(db: Path, metric: str = VAL_NELBO) -> int:
    """How many ``metric`` reports the study's MLflow sqlite store holds so far (0 before it exists)."""
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM metrics WHERE key = ?", (metric,)).fetchone()[0]
    except sqlite3.Error:  # the schema is not written yet, or the store is busy: ask again at the next poll
        return 0


def run_until(cmd: list[str], db: Path, stop_after: int | None, poll_s: float = 10.0,
              metric: str = VAL_NELBO) -> tuple[int, str]:
    """Run the study ``cmd``; once its store holds ``stop_after`` reports (its compute has reached B), stop it
    with SIGTERM, which study.run handles gracefully (every queued MLflow write kept). Nothing after B is used:
    the curve is cut at B either way, and a searcher's proposals before B do not depend on what comes after.
    Returns the exit status and the output's tail."""
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        while proc.poll() is None:
            time.sleep(poll_s)
            if stop_after is not None and reports_logged(db, metric) >= stop_after:
                print(f"[benchmarks] search: compute reached B ({stop_after} reports): stopping the study",
                      file=sys.stderr, flush=True)
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                break
        log.seek(0)
        return proc.returncode, log.read()[-8000:]


def _kept(keep: Path | None, key: str) -> tuple[Curve, float] | None:
    """A study run measured before (its curve and wall seconds in ``keep``), else None."""
    path = keep / f"{key}.json" if keep else None
    if path is None or not path.is_file():
        return None
    doc = json.loads(path.read_text())
    return Curve(doc["images"], doc["seconds"], doc["best"]), doc["wall"]


def _keep(keep: Path | None, key: str, c: Curve, seconds: float) -> None:
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        doc = {"images": c.images, "seconds": c.seconds, "best": c.best, "wall": seconds}
        (keep / f"{key}.json").write_text(json.dumps(doc))


def run(data_root: str, quick: bool, seeds: int | None = None, extra: tuple[str, ...] = (),
        keep: Path | None = None, methods: tuple[tuple[str, str], ...] | None = None) -> dict:
    """Every method over ``seeds`` search seeds; returns the curves and the comparisons at equal compute.

    ``keep``: a folder where each study run's curve is written as it ends; a run already there (same
    settings, as the file name says) is read instead of measured again, so an interrupted benchmark
    goes on where it stopped.
    ``methods``: run only these; without random + FIFO, B is :func:`budget` of the settings (what random + FIFO
    processes, since it trains every trial to the end) and the comparisons against it are left out.
    """
    n, epochs, train_size, n_seeds = (1, 2, 500, 1) if quick else (16, 8, 8000, 5)  # quick: the harness only
    poll_s = 1.0 if quick else 10.0  # quick: stop a study at B within a second (its reports come every second)
    n_seeds = seeds or n_seeds
    methods = methods or (QUICK_METHODS if quick else METHODS)
    with_baseline = BASELINE in methods
    print(f"[benchmarks] search: B = {budget(n, epochs, train_size):,} training images "
          + ("(random+fifo's compute, measured)" if with_baseline else
             f"computed from the settings ({n} trials x {epochs} epochs x {train_size} images), random+fifo not run"),
          file=sys.stderr, flush=True)
    runs: dict[tuple[str, str], list[Curve]] = {m: [] for m in methods}
    wall: dict[tuple[str, str], list[float]] = {m: [] for m in methods}
    for seed in range(n_seeds):
        with tempfile.TemporaryDirectory() as tmp:
            for method in methods:
                proposals = n if method[1] == "fifo" else ASHA_PROPOSALS * n
                key = f"{'-'.join(method)}-seed{seed}-n{proposals}-e{epochs}-t{train_size}" + "".join(extra)
                kept = _kept(keep, key)
                print(f"[benchmarks] search: seed {seed}, {'+'.join(method)}, {proposals} proposals"
                      + (" (kept from an earlier run)" if kept else ""), file=sys.stderr, flush=True)
                c, seconds = kept or _study(tmp, data_root, seed, method, proposals, epochs, train_size, extra, n,
                                            poll_s)
                _keep(keep, key, c, seconds)
                runs[method].append(c)
                wall[method].append(seconds)
    budgets = ([c.images[-1] for c in runs[BASELINE]] if with_baseline
               else [budget(n, epochs, train_size)] * n_seeds)
    targets = [c.best[-1] for c in runs[BASELINE]] if with_baseline else []
    summary = {}
    for method in methods:
        at_budget = [c.best_at(b) for c, b in zip(runs[method], budgets)]
        summary[method] = {
            "best": Measure(f"{method} best at B", "nats", at_budget),
            "seconds_at_budget": Measure("wall s at B", "s", [c.seconds_at(b) for c, b in zip(runs[method], budgets)]),
            "wall": Measure("run wall s", "s", wall[method]),
            "reached_budget": sum(c.images[-1] >= b for c, b in zip(runs[method], budgets)),
        }
        if with_baseline:
            reach = [c.images_to_reach(t) / b for c, t, b in zip(runs[method], targets, budgets)]
            summary[method]["reach"] = Measure(f"{method} compute to reach random+fifo's best", "x", reach)
            summary[method]["as_good"] = sum(a <= t + 1e-9 for a, t in zip(at_budget, targets))
    pair = per_seed(*(summary[m]["best"].values for m in PAIR)) if all(m in summary for m in PAIR) else None
    return {"n": n, "epochs": epochs, "train_size": train_size, "seeds": n_seeds, "budgets": budgets,
            "curves": runs, "summary": summary, "extra": list(extra), "baseline_run": with_baseline,
            "per_seed": pair}


def figure(result: dict, path: Path) -> None:
    """Median (over seeds) best val_nelbo so far against compute, as a fraction of the baseline's, per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    grid = np.linspace(0.02, 1.0, 50)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for method, curves in result["curves"].items():
        ys = np.array([[c.best_at(f * b) for f in grid] for c, b in zip(curves, result["budgets"])])
        med = np.median(ys, axis=0)
        ok = np.isfinite(med)
        ax.plot(grid[ok], med[ok], marker="o", ms=2, label="+".join(method))
        if len(curves) > 1:
            lo, hi = np.percentile(ys, 25, axis=0), np.percentile(ys, 75, axis=0)
            band = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(grid[band], lo[band], hi[band], alpha=0.15)
    ax.set_xlabel("compute: training images processed, as a fraction of random+fifo's total")
    ax.set_ylabel("best val_nelbo so far (nats)")
    ax.set_title(f"Anytime search curves, median and quartiles over {result['seeds']} seeds")
    ax.legend(fontsize=8)
    finite = [v for cs in result["curves"].values() for c in cs for v in c.best if math.isfinite(v)]
    if finite:
        lo = min(finite)
        ax.set_ylim(lo - 1, lo + 4 * max(1.0, np.median(finite) - lo))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
