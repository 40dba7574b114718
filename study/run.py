"""``python -m study.run STUDY``: run a study on Ray Tune and record it in MLflow.

Exit codes: 0 the study ran; 1 it ran but no trial trained successfully (all failed, or every
configuration was over the parameter cap); 2 bad input, with one line naming the problem and fix.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from study import confirm_phase, invocation, mlflow_store, mlflow_ui, report, storage, user_studies
from study.confirm import PHASE_TAG
from study.cli import build_parser
from study.errors import UsageError
from study.mlflow_inputs import dataset_input
from study.resolve import Resolved, resolve, run_name_keys, searched_keys
from trainables.data import DataUnavailable, check_splits, default_data_root
from trainables.metric_names import best_of

os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # MLflow is the record; skip CSV/JSON/TBX
os.environ.setdefault("RAY_DEDUP_LOGS", "1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per checkpoint file is noise
# a snapshot per checkpoint is what makes --resume exact; the warning about it is noise here
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


def main(argv: list[str] | None = None, prog: str = "python -m study.run") -> int:
    args = build_parser(prog).parse_args(argv)
    _quiet_optuna()  # resolving a study samples its space with Optuna
    try:
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
        r = resolve(args.study, args.profile, args.sets, args.num_samples, args.max_epochs,
                    args.max_concurrent, args.seed, args.param_cap, args.searcher, args.scheduler,
                    args.confirm, args.confirm_seeds, not args.no_baselines)
        if resumed is not None:
            invocation.check_metric(resumed.record, r.study.name, r.study.metric)
        uri = mlflow_store.tracking_uri(args.tracking_uri)
        data_root = _data_root(args.data_root)
        if args.print:
            print(report.describe(r, {"tracking_uri": uri, "data_root": str(data_root),
                                      "cpus_per_trial": args.cpus_per_trial or r.profile.cpus_per_trial,
                                      "gpus_per_trial": args.gpus_per_trial, "address": _address(args.address),
                                      "storage_path": storage.resolve(args.storage_path)}))
            return 0
        mlflow_store.preflight(uri)
        return _run(r, args, uri, data_root, resumed)
    except UsageError as e:
        print(f"study.run: error: {e}", file=sys.stderr)
        return 2


def _quiet_optuna() -> None:
    """The CLI prints its own summary: Optuna's per-trial INFO lines are noise there. Only the
    command sets this; importing ``study`` leaves a library user's Optuna logging alone."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _apply_from_config(args) -> None:
    """``--from-config``: one trial of the file's configuration, every key fixed, no early stopping."""
    from study.config_file import ConfigFileError, read

    try:
        study, _, config = read(args.from_config, args.rank)
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
        return default_data_root()
    root = Path(cli_value).expanduser()
    if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
        raise UsageError(f"data root {root} is not a readable folder; fix: pass --data-root DIR "
                         "holding MNIST/raw (or set GENSTUDY_DATA_ROOT)")
    return root


def _address(cli_value: str | None) -> str | None:
    return cli_value or os.environ.get("RAY_ADDRESS") or None


def source_tags() -> dict[str, str]:
    """MLflow's own source tag, ``mlflow.source.git.commit`` (the UI shows it), when genstudy runs from a git checkout."""
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT

    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return {}
    commit = out.stdout.strip()
    return {MLFLOW_GIT_COMMIT: commit} if out.returncode == 0 and commit else {}


def _load_data(r: Resolved, data_root: Path):
    """The family's data (train, validation and test splits), loaded once in the driver."""
    try:
        data = r.family.load_data(r.fixed, data_root)
    except DataUnavailable as e:
        raise UsageError(str(e)) from None
    check_splits(data)  # a family without a validation split is a bug, not bad input
    return data


def _run(r: Resolved, args, uri: str, data_root: Path, resumed) -> int:
    import ray

    from study.mlflow_callback import MLflowTrialLogger
    from study.progress import views
    from study.tuner import Resources, build_tuner, make_searcher, restore_tuner

    storage_path = storage.resolve(args.storage_path)
    # Ray takes seconds to start; loading the data and MLflow's set-up (a new database's schema, the
    # parent run) take seconds too. All three overlap. Preflight has already checked the URI, and no
    # MLflow run is made before the data has loaded, so a data error (exit 2) leaves no run behind.
    with ThreadPoolExecutor(2, thread_name_prefix="genstudy-setup") as pool:
        loading = pool.submit(_load_data, r, data_root)
        setup = pool.submit(_open_study_record, r, args, uri, storage_path, data_root, resumed, loading)
        # Tune keeps one trial pending at a time for a custom searcher; allow as many as may run at once
        os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(r.max_concurrent))
        # "local": a private instance, never one that a `ray start` on this machine happens to run
        ray.init(address=_address(args.address) or "local", include_dashboard=False, log_to_driver=True,
                 configure_logging=True, logging_level="WARNING")
        try:
            data = loading.result()
            client, exp_dir, exp_id, parent_id = setup.result()
        except BaseException:
            ray.shutdown()
            raise
    try:
        gpus = args.gpus_per_trial
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        resources = Resources(args.cpus_per_trial or r.profile.cpus_per_trial, gpus)
        assets = r.family.prepare(data, data_root) if r.family.prepare else {}
        searcher = make_searcher(r)
        run_tags = {**source_tags(), PHASE_TAG: invocation.SEARCH}
        if resumed is None:
            logger = MLflowTrialLogger(uri, exp_id, parent_id, r.study.name, r.study.metric, r.study.mode, r.max_t,
                                       storage.staging_dir(exp_dir), run_tags=run_tags, name_keys=run_name_keys(r),
                                       dataset=dataset_input(data, data_root))
            tuner = build_tuner(r, data, assets, searcher, resources, storage_path, storage.name(exp_dir),
                                [logger, *views(r, "search", r.num_samples, args.verbose)], verbose=args.verbose)
        else:
            ended = invocation.ended_trials(client, exp_id, parent_id, r.study.metric)
            tuner = restore_tuner(exp_dir, r, data, assets, resources, ended)
        tuner.fit()
        with tempfile.TemporaryDirectory(prefix="genstudy-searcher-") as tmp:  # the searcher's final state, saved by Tune
            storage.download(exp_dir, ".pkl", Path(tmp))
            searcher.restore_from_dir(tmp)
        interrupted = invocation.close_stale_runs(client, exp_id, parent_id) > 0 or searcher.proposed < r.num_samples
        code = _finish(r, client, exp_id, parent_id, searcher, uri, data, args.register)
        if code == 0 and not interrupted and r.confirm > 0:
            interrupted = confirm_phase.run(r, client, uri, exp_id, parent_id, exp_dir, storage_path, data, assets,
                                            resources, source_tags(), data_root, verbose=args.verbose)
            interrupted |= invocation.close_stale_runs(client, exp_id, parent_id) > 0
    finally:
        ray.shutdown()
    mlflow_store.retry(client.set_terminated, parent_id, "KILLED" if interrupted else "FINISHED")
    if interrupted:
        print(f"study.run: {r.study.name} was interrupted; continue it with: python -m study.run {r.study.name} "
              f"--resume --storage-path {storage_path}", file=sys.stderr)
    return code


def _open_study_record(r: Resolved, args, uri: str, storage_path: str, data_root: Path, resumed, loading) -> tuple:
    """The parent MLflow run and the record ``--resume`` reads: a new one, or the resumed study's
    (whose runs left RUNNING by a dead driver are marked KILLED).

    Returns (MLflow client, exp_dir (a folder or a URI), experiment id, parent run id).
    """
    client = mlflow_store.client(uri)  # a new SQLite database gets its schema here (seconds)
    data = loading.result()  # the data loaded (or this raises its error): only now are runs made or changed
    if resumed is not None:
        exp_dir, exp_id, parent_id = resumed.path, resumed.record["experiment_id"], resumed.record["parent_run_id"]
        stale = invocation.close_stale_runs(client, exp_id, parent_id)
        mlflow_store.retry(client.update_run, parent_id, "RUNNING")
        print(f"resuming {exp_dir} (MLflow parent run {parent_id}; {stale} stale runs marked KILLED)")
        return client, exp_dir, exp_id, parent_id
    exp_id = mlflow_store.experiment_id(uri, r.study.name)
    ui_tags = mlflow_ui.experiment_tags(r.study.name, r.study.description, r.study.metric, r.study.mode,
                                        r.study.test_metric, searched_keys(r))
    for key, value in ui_tags.items():
        mlflow_store.retry(client.set_experiment_tag, exp_id, key, value)
    name = f"{r.study.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    tags = {"study": r.study.name, "profile": r.profile_name, "role": "study", **source_tags()}
    if args.from_config:
        tags["from_config"] = str(Path(args.from_config).resolve())
    parent_id = mlflow_store.retry(client.create_run, exp_id, run_name=name, tags=tags).info.run_id
    _log_parent_params(client, parent_id, r)
    mlflow_store.retry(client.log_inputs, parent_id, [dataset_input(data, data_root)])
    exp_dir = storage.join(storage_path, name)
    invocation.save(exp_dir, args, parent_id, exp_id, uri, data_root, r.study.metric)
    return client, exp_dir, exp_id, parent_id


def _log_parent_params(client, run_id: str, r: Resolved) -> None:
    from mlflow.entities import Param

    params = {"profile": r.profile_name, "num_samples": r.num_samples, "max_epochs": r.max_epochs, "max_t": r.max_t,
              "metric": r.study.metric, "mode": r.study.mode, "test_metric": r.study.test_metric,
              "param_cap": r.param_cap,
              "grace_period": r.profile.grace_period, "reduction_factor": r.profile.reduction_factor,
              "searcher": r.searcher, "scheduler": r.scheduler,
              "max_concurrent": r.max_concurrent, **{f"fixed.{k}": v for k, v in r.fixed.items()},
              **{f"grid.{k}": ",".join(map(str, v)) for k, v in r.grid.items()}}
    mlflow_store.retry(client.log_batch, run_id, params=[Param(k, str(v)) for k, v in params.items()])


def _finish(r: Resolved, client, exp_id: str, parent_id: str, searcher, uri: str, data, register: str | None) -> int:
    """Print the summary and record the best trial on the parent run, from what MLflow holds."""
    from mlflow.entities import Metric, Param

    outcomes = invocation.outcomes(client, exp_id, parent_id, r.study.metric, r.study.mode, r.study.test_metric)
    for line in report.summary(r, outcomes, searcher.rejected, searcher.proposed):
        print(line)
    counts = {"n_proposed": searcher.proposed, "n_rejected_cap": len(searcher.rejected),
              **{f"n_{k}": sum(o["status"] == k for o in outcomes.values())
                 for k in ("finished", "stopped_early", "failed")}}
    now = int(dt.datetime.now().timestamp() * 1000)
    mlflow_store.retry(client.log_batch, parent_id, metrics=[Metric(k, v, now, 0) for k, v in counts.items()])
    _log_rejected(client, parent_id, searcher)
    scored = {t: o for t, o in outcomes.items() if o["status"] in ("finished", "stopped_early") and o["best"] is not None}
    if not scored:
        why = (f"every configuration was over the {r.param_cap:,}-parameter cap; fix: narrow the space "
               "(--set width=..., depth=...) or raise --param-cap" if searcher.rejected and not outcomes
               else "no trial trained successfully")
        print(f"study.run: {r.study.name}: {why}; nothing to report", file=sys.stderr)
        return 1
    pick = min if r.study.mode == "min" else max
    best_id = pick(scored, key=lambda t: scored[t]["best"])
    best = scored[best_id]
    config = dict(client.get_run(best["run_id"]).data.params)
    params = [Param(f"best.{k}", v) for k, v in config.items()]
    existing = client.get_run(parent_id).data.params
    params = [p for p in params if p.key not in existing]  # a resumed study logged them already
    best_metrics = [Metric(best_of(r.study.metric), best["best"], now, 0)]
    if best["test"] is not None:  # the test number of the chosen checkpoint: reported, not chosen by
        best_metrics.append(Metric(best_of(r.study.test_metric), best["test"], now, 0))
    mlflow_store.retry(client.log_batch, parent_id, metrics=best_metrics, params=params)
    for k, v in {"best_trial_id": best_id, "best_run_id": best["run_id"]}.items():
        mlflow_store.retry(client.set_tag, parent_id, k, v)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "best_config.json"
        path.write_text(json.dumps(config, indent=2))
        mlflow_store.retry(client.log_artifact, parent_id, str(path))
    test = "" if best["test"] is None else f", {r.study.test_metric} = {best['test']:.3f}"
    print(f"best trial {best_id} (chosen on {r.study.metric}): {r.study.metric} = {best['best']:.3f}{test} at report "
          f"{best['best_report']} ({best['status']}, {best['epochs']} reports)")
    print("  " + " ".join(f"{k}={v}" for k, v in sorted(config.items())))
    _publish(r, client, uri, exp_id, parent_id, best, data, register)
    print(f"MLflow: {uri}  experiment {r.study.name!r}  parent run {parent_id}  best run {best['run_id']}")
    base = uri if uri.startswith(("http://", "https://")) else "http://127.0.0.1:5000"
    if base != uri:
        print(f"  browse: mlflow ui --backend-store-uri {uri}  (then open the trials below)")
    print(f"  trials: {mlflow_ui.runs_link(exp_id, base)}")
    return 0


def _publish(r: Resolved, client, uri: str, exp_id: str, parent_id: str, best: dict, data, register) -> None:
    """The best trial as an MLflow model (+ ``.pt2`` programs, + a registry version); its URI tags both runs."""
    from study.mlflow_models import publish

    tags = {"study": r.study.name, "parent_run_id": parent_id, "best_run_id": best["run_id"],
            "metric": f"{r.study.metric}={best['best']:.6g}"}
    try:
        published = publish(uri, exp_id, best["run_id"], best["best_report"], r.family, data, register, tags)
    except Exception as e:  # noqa: BLE001 - the study's record stands without its published model
        print(f"study.run: publishing the best model failed ({type(e).__name__}: {e}); its checkpoint is in run "
              f"{best['run_id']}", file=sys.stderr)
        return
    if published is None:
        return
    for run_id in (parent_id, best["run_id"]):
        mlflow_store.retry(client.set_tag, run_id, "best_model_uri", published.model_uri)
    print(f"  model: {published.model_uri} (mlflow.pytorch.load_model); programs: {', '.join(published.programs)} "
          f"on the best run" + (f"; registered as {published.registered}" if published.registered else ""))


def _log_rejected(client, parent_id: str, searcher) -> None:
    """``rejected.json`` on the parent: every configuration kept out of training by the cap."""
    if not searcher.rejected:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rejected.json"
        path.write_text(json.dumps([{"config": x.config, "n_params": x.n_params} for x in searcher.rejected],
                                   indent=2, default=str))
        mlflow_store.retry(client.log_artifact, parent_id, str(path))


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
