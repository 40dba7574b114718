"""``python -m study.run STUDY``: run a study on Ray Tune and record it in MLflow.

Exit codes: 0 the study ran; 1 it ran but no trial trained successfully (all failed, or every
configuration was over the parameter cap); 2 bad input, with one line naming the problem and fix; 3 part of
the MLflow record could not be written (kept on disk, written by ``--resume``);
128 + N stopped by signal N (143: SIGTERM, 130: SIGINT), resumable with ``--resume``.
"""

from __future__ import annotations

from study.interrupts import Interrupted, Interrupts  # the standard library only: installed before the slow imports

STARTUP = Interrupts()
if __name__ == "__main__":
    STARTUP.install(deferred=True)  # a SIGTERM while torch and MLflow import is noted, and ends main at once

import os  # noqa: E402
import sys
from pathlib import Path

from record import artifact_location, store
from record.store import DEFAULT_PATIENCE_S, PATIENCE_ENV
from record.errors import UsageError
from study import checks, invocation, report, storage, user_studies
from study.checks import ray_address
from study.cli import build_parser
from study.resolve import resolve

os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # MLflow is the record; skip CSV/JSON/TBX
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per checkpoint file is noise
# a snapshot per checkpoint is what makes --resume exact; the warning about it is noise here
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
# an unreachable tracking store: MLflow's own HTTP retries would wait ~4 min per call; a few quick ones, then
# record.store waits for the store (GENSTUDY_MLFLOW_PATIENCE_S) while the study goes on, then spools
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def main(argv: list[str] | None = None, prog: str = "python -m study.run") -> int:
    args = build_parser(prog).parse_args(argv)
    os.environ.setdefault(PATIENCE_ENV, str(int(DEFAULT_PATIENCE_S)))  # a driver's, not an importer's, patience
    _quiet_optuna()  # resolving a study samples its space with Optuna
    interrupts = Interrupts(prog.removeprefix("python -m "), signum=STARTUP.signum)
    try:
        interrupts.install(deferred=True)  # noted until the driver's set-up is done (Interrupts.arm)
        if interrupts.signum is not None:
            raise Interrupted(interrupts.signum)
        checks.flags(args)
        user_studies.load(args.studies)
        if args.list:
            print(report.list_studies())
            return 0
        if args.from_config:
            _apply_from_config(args)
        if not args.study:
            raise UsageError("no study named; fix: python -m study.run STUDY (see --list)")
        resumed = None
        if args.resume:
            resumed = invocation.find_resumable(storage.resolve(args.storage_path), args.study)
            invocation.apply(args, resumed.record)
        uri = store.tracking_uri(args.tracking_uri)
        data_root = _data_root(args.data_root)
        if not args.print:  # refused before resolving the study imports torch (seconds)
            store.preflight(uri)
            checks.before_resolving(args, ray_address(args.address), storage.resolve(args.storage_path),
                                    resumed is not None)
        r = resolve(args.study, args.profile, args.sets, args.num_samples, args.max_epochs,
                    args.max_concurrent, args.seed, args.param_cap, args.searcher, args.scheduler,
                    args.confirm, args.confirm_seeds, not args.no_baselines, args.objectives)
        if resumed is not None:
            invocation.check_metric(resumed.record, r.study.name, r.study.metric)
        if args.print:
            print(report.describe(r, {"tracking_uri": store.shown_uri(uri), "data_root": str(data_root),
                                      "cpus_per_trial": args.cpus_per_trial or r.profile.cpus_per_trial,
                                      "gpus_per_trial": args.gpus_per_trial, "address": ray_address(args.address),
                                      "storage_path": storage.resolve(args.storage_path)}))
            return 0
        checks.before_ray(args, r, ray_address(args.address))
        artifact_location.check(uri, r.study.name)
        if resumed is not None and invocation.finished(resumed.record):
            print(f"study.run: {r.study.name}: that run finished ({resumed.path}); nothing to resume; to run the study "
                  f"again, start a new one: python -m study.run {r.study.name} (without --resume)", file=sys.stderr)
            return 0
        if interrupts.signum is not None:
            raise Interrupted(interrupts.signum)
        from study.driver import Driver  # Ray, MLflow and torch: imported once the invocation is checked

        return Driver(r, args, uri, data_root, resumed, interrupts).run()
    except UsageError as e:
        print(f"study.run: error: {e}", file=sys.stderr)
        return 2
    except Interrupted:  # a signal before the study was set up: nothing to record yet
        print(f"study.run: stopped by {interrupts.name} before the study started; nothing was recorded",
              file=sys.stderr)
        return interrupts.exit_code


def _quiet_optuna() -> None:
    """The CLI prints its own summary: Optuna's per-trial INFO lines are noise there. Only the
    command sets this; importing ``study`` leaves a library user's Optuna logging alone."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _apply_from_config(args) -> None:
    """``--from-config``: one trial of the file's configuration, every key fixed, no early stopping."""
    from record.config_file import ConfigFileError, read

    try:
        study, _, config = read(args.from_config, 1 if args.rank is None else args.rank)
    except ConfigFileError as e:
        raise UsageError(str(e)) from None
    if args.study and args.study != study:
        raise UsageError(f"{args.from_config} is a config of {study!r}, not {args.study!r}; "
                         f"fix: python -m study.run {study} --from-config {args.from_config}")
    args.study = study
    args.sets = [f"{k}={v}" for k, v in config.items()] + list(args.sets)  # later --set values win
    args.num_samples, args.max_concurrent, args.scheduler, args.confirm = 1, 1, "fifo", 0


def _data_root(cli_value: str | None) -> Path:
    if cli_value is None:
        from trainables.data import default_data_root  # numpy

        return default_data_root()
    root = Path(cli_value).expanduser()
    if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
        raise UsageError(f"data root {root} is not a readable folder; fix: pass --data-root DIR "
                         "holding MNIST/raw (or set GENSTUDY_DATA_ROOT)")
    return root


def exit_fast(code: int) -> None:
    """Exit without Python's teardown once everything is written: Ray is shut down and every MLflow
    write has been flushed by then, and the teardown (Ray's and MLflow's native finalisers) took
    1.5-2 s of every invocation (BENCHMARKS.md, platform overhead)."""
    import logging

    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_fast(main())
