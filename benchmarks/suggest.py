"""The searcher's suggest latency by trial number, without Ray and without training.

Drives ``study.searcher.CappedTPESearch``, built as ``study.tuner.make_searcher`` builds it from
``resolve(study, "quick", num_samples=N)``, through N trials: ``suggest``, four ``on_trial_result``
reports of a synthetic value, ``on_trial_complete``, with C trials live at once (suggest C, complete the
oldest, suggest again: what ``max_concurrent`` and TPE's constant liar see). The synthetic value is a
smooth function of the sampled values (each numeric parameter's position in its range, on a log scale
where the range is, squared distance from 0.3; each categorical choice a fixed penalty by its index) plus
seeded noise, so TPE has something to model and "best value after N trials" measures search quality.

Each ``suggest`` call is timed (``time.perf_counter``, and the process CPU time, which other load on a
shared machine inflates less; a call includes the proposals the parameter cap
rejected before it), and so is ``save`` once per trial inside each window. Windows are the ten suggests
from trial 10, 100 and 1,000 on (trials 10-19, 100-109, 990-999 at N=1000: the last window ends at N).

Run: ``python -m benchmarks.suggest [--trials 1000] [--concurrency 8 64] [--out FILE.md]``.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
import random
import resource
import statistics
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field, replace

import optuna
from ray.tune.search import Searcher

from benchmarks.stats import machine
from study.resolve import resolve
from study.tuner import make_searcher

STUDIES = ("vae_beta_sweep", "gan_loss_sweep")  # gan_loss_sweep's space is conditional
WINDOW_STARTS = (10, 100, 1000)
WINDOW = 10  # suggests per window
REPORTS = 4  # on_trial_result calls per trial
NOISE = 0.05  # standard deviation of the synthetic value's noise
LATENCY_TARGET_S = 0.5  # issue 26: suggest latency at the 1,000th trial


@dataclass
class Run:
    """One study driven through N trials at one concurrency."""

    study: str
    concurrency: int
    trials: int
    suggest_s: list[float] = field(default_factory=list)  # wall seconds, by trial number (0-based)
    suggest_cpu_s: list[float] = field(default_factory=list)  # process CPU seconds, by trial number
    save_s: dict[int, float] = field(default_factory=dict)  # trial number -> save() seconds
    cpu_s: float = 0.0  # process CPU time inside the searcher's calls
    best: float = math.inf  # the synthetic objective's best completed value

    def windows(self) -> dict[int, tuple[int, int]]:
        """Window label -> [first, last) trial numbers, for the windows the run reached."""
        out = {}
        for start in WINDOW_STARTS:
            if start <= self.trials:
                first = max(0, min(start, self.trials - WINDOW))  # the 1,000 window ends at trial 1,000
                out[start] = (first, min(first + WINDOW, self.trials))
        return out

    def median_suggest(self, label: int, cpu: bool = False) -> float:
        a, b = self.windows()[label]
        return statistics.median((self.suggest_cpu_s if cpu else self.suggest_s)[a:b])

    def median_save(self, label: int) -> float:
        a, b = self.windows()[label]
        saves = [v for k, v in self.save_s.items() if a <= k < b]
        return statistics.median(saves) if saves else math.nan


def synthetic_value(trial: optuna.trial.Trial, rng: random.Random) -> float:
    """A smooth function of the trial's sampled values, minimum 0 without noise, plus seeded noise."""
    total = 0.0
    for name, dist in trial.distributions.items():
        value = trial.params[name]
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            total += 0.1 * dist.choices.index(value) / max(1, len(dist.choices) - 1)
            continue
        low, high = dist.low, dist.high
        if dist.log:
            low, high, value = math.log(low), math.log(high), math.log(value)
        u = 0.5 if high == low else (value - low) / (high - low)
        total += (u - 0.3) ** 2
    return total + rng.gauss(0.0, NOISE)


def drive(study: str, trials: int, concurrency: int, seed: int = 0, settings: dict | None = None,
          save_dir: str | None = None, profile_at: int | None = None) -> Run:
    """Run ``study``'s searcher through ``trials`` synthetic trials, ``concurrency`` live at once.

    Args:
        settings: ``SearchSettings`` fields to replace (a variant to compare with the default).
        save_dir: where ``save`` writes inside the windows (a temporary folder when None).
        profile_at: the trial number whose ``suggest`` runs under cProfile (stats printed, top 25 by cumulative time).
    """
    searcher = make_searcher(resolve(study, "quick", num_samples=trials, seed=seed))
    if settings:
        searcher.s = replace(searcher.s, **settings)
        searcher._open(journal="")  # a fresh study with the variant's sampler (no trials yet)
    searcher.set_max_concurrency(concurrency)
    max_t = searcher.s.max_t
    steps = sorted({max(1, max_t * k // REPORTS) for k in range(1, REPORTS + 1)})
    rng = random.Random(seed)
    run = Run(study, concurrency, trials)
    saving = {n for a, b in run.windows().values() for n in range(a, b)}
    live: deque[str] = deque()
    with tempfile.TemporaryDirectory(dir=save_dir) as folder:
        n = 0
        while True:
            if len(live) < concurrency:
                profiler = cProfile.Profile() if n == profile_at else None
                cpu, start = time.process_time(), time.perf_counter()
                config = searcher.suggest(f"t{n}") if profiler is None else profiler.runcall(searcher.suggest, f"t{n}")
                run.suggest_s.append(time.perf_counter() - start)
                run.suggest_cpu_s.append(time.process_time() - cpu)
                run.cpu_s += run.suggest_cpu_s[-1]
                if profiler is not None:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                if config == Searcher.FINISHED:
                    run.suggest_s.pop()
                    run.suggest_cpu_s.pop()
                    break
                assert config is not None, "the searcher refused a suggest under its concurrency"
                if n in saving:
                    start = time.perf_counter()
                    searcher.save(os.path.join(folder, "searcher-state.json"))
                    run.save_s[n] = time.perf_counter() - start
                live.append(f"t{n}")
                n += 1
                continue
            run.best = min(run.best, _complete(searcher, live.popleft(), steps, rng, run))
        while live:
            run.best = min(run.best, _complete(searcher, live.popleft(), steps, rng, run))
    run.trials = len(run.suggest_s)  # suggests that returned a config (rejections are inside them)
    return run


def _complete(searcher, trial_id: str, steps: list[int], rng: random.Random, run: Run) -> float:
    """Report ``trial_id``'s synthetic value at each step, then complete it; its final value."""
    final = synthetic_value(searcher.live[trial_id], rng)
    cpu = time.process_time()
    for i, step in enumerate(steps):
        value = final + 0.5 * (len(steps) - 1 - i) / len(steps)  # improves towards the final value
        searcher.on_trial_result(trial_id, {searcher.metric: value, "training_iteration": step})
    searcher.on_trial_complete(trial_id, {searcher.metric: final, "training_iteration": steps[-1]})
    run.cpu_s += time.process_time() - cpu
    return final


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def table(runs: list[Run]) -> str:
    labels = [w for w in WINDOW_STARTS if any(w in r.windows() for r in runs)]
    head = ["study", "live trials"] + [f"suggest at {w}, ms" for w in labels] + \
        [f"suggest CPU at {w}, ms" for w in labels] + \
        [f"save at {w}, ms" for w in labels] + ["searcher CPU s", "best value"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in runs:
        w = r.windows()
        cells = [r.study, str(r.concurrency)]
        cells += [f"{1000 * r.median_suggest(x):.0f}" if x in w else "" for x in labels]
        cells += [f"{1000 * r.median_suggest(x, cpu=True):.0f}" if x in w else "" for x in labels]
        cells += [f"{1000 * r.median_save(x):.0f}" if x in w else "" for x in labels]
        cells += [f"{r.cpu_s:.0f}", f"{r.best:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--concurrency", type=int, nargs="+", default=[8, 64])
    p.add_argument("--studies", nargs="+", default=list(STUDIES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile-at", type=int, help="print a cProfile of this trial's suggest")
    p.add_argument("--out", help="write the table here (Markdown) as well as printing it")
    a = p.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.time()
    runs = []
    for study in a.studies:
        for c in a.concurrency:
            runs.append(drive(study, a.trials, c, a.seed, profile_at=a.profile_at))
            print(table(runs[-1:]), flush=True)
    text = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} on {machine()}.\n"
            f"Command: `python -m benchmarks.suggest --trials {a.trials} --concurrency "
            f"{' '.join(map(str, a.concurrency))} --seed {a.seed}` ({(time.time() - started) / 60:.1f} min); "
            f"peak RSS {peak_rss_mib():.0f} MiB.\n"
            f"Medians over {WINDOW} suggests (and {WINDOW} saves) from each trial number on; "
            f"target: suggest at 1000 ≤ {LATENCY_TARGET_S} s.\n\n{table(runs)}\n")
    print(text)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
