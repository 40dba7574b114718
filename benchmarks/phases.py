"""Where the platform overhead goes: one ``study.run`` invocation timed phase by phase.

``python -m benchmarks.phases [--trials N] [--train-size N] [--epochs N]`` runs the overhead
benchmark's fixed-work study in this process with timers around its phases (imports, set-up while
Ray starts, ``ray.init``, ``Tuner.fit``, ``ray.shutdown``, the summary) and reads Tune's per-report
results to split each trial's time into training (measured inside ``fit``) and everything else.
The numbers explain BENCHMARKS.md's overhead ratios; they are not themselves a benchmark.
"""

from __future__ import annotations

import argparse
import functools
import glob
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()


def _label(owner) -> str:
    """``study.driver`` for a module, ``study.driver.Driver`` for a class."""
    return f"{owner.__module__}.{owner.__qualname__}" if isinstance(owner, type) else owner.__name__


def _timed(owner, name: str, log: list) -> None:
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            log.append((f"{_label(owner)}.{name}", start - T0, time.perf_counter() - T0))

    setattr(owner, name, wrapper)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.phases", description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--train-size", type=int, default=40_000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-root", default=None)
    args = p.parse_args(argv)

    import ray
    from ray import tune

    import study.driver as driver
    import study.run as run
    from benchmarks.overhead import _config
    from trainables.data import default_data_root

    log: list = [("imports (study.run, ray, torch)", 0.0, time.perf_counter() - T0)]
    for owner, name in ((driver, "_load_data"), (driver.Driver, "_open_record"), (ray, "init"), (tune.Tuner, "fit"),
                        (ray, "shutdown"), (driver, "finish")):
        _timed(owner, name, log)
    cfg = _config(args.train_size, args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        sets = [a for k, v in cfg.items() if k != "max_epochs" for a in ("--set", f"{k}={v}")]
        code = run.main(["vae_beta_sweep", "--profile", "smoke", "--num-samples", str(args.trials),
                         "--max-epochs", str(args.epochs), *sets, "--max-concurrent", "1",
                         "--cpus-per-trial", str(args.threads), "--data-root", args.data_root or str(default_data_root()),
                         "--tracking-uri", f"sqlite:///{tmp}/m.db", "--storage-path", f"{tmp}/ray"])
        end = time.perf_counter() - T0
        results = [[json.loads(line) for line in open(f)] for f in sorted(glob.glob(f"{tmp}/ray/*/*/result.json"))]
    print(f"exit code {code}; {end:.2f} s in all (interpreter teardown not included)\n")
    print("| phase | starts, s | ends, s | seconds |\n| --- | --- | --- | --- |")
    for name, start, stop in log:
        print(f"| {name} | {start:.2f} | {stop:.2f} | {stop - start:.2f} |")
    per_report = [r["time_this_iter_s"] for trial in results for r in trial]
    training = [args.train_size / r["samples_per_s"] for trial in results for r in trial]
    firsts = [trial[0]["time_this_iter_s"] - args.train_size / trial[0]["samples_per_s"] for trial in results if trial]
    print(f"\n{len(results)} trials, {len(per_report)} reports. Per report: {statistics.median(per_report):.3f} s "
          f"(median), of which training {statistics.median(training):.3f} s; the rest (test-set evaluation, "
          f"checkpoint, report) {statistics.median(per_report) - statistics.median(training):.3f} s.")
    print(f"Non-training time of each trial's first report, s: {', '.join(f'{x:.2f}' for x in firsts)} "
          "(the first includes the trial actor's start: imports, data from the object store).")
    return code


if __name__ == "__main__":
    sys.exit(main())
