"""What a run leaves beside Tune's experiment state so ``--resume`` can continue it, and the
MLflow bookkeeping around an interrupted study (stale runs, outcomes read back from the record)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study import mlflow_store, storage
from study import result_keys as keys
from study.errors import UsageError

RECORD_FILE = "genstudy.json"
# the arguments that define a study run; --resume takes them from the record, not the command line
STUDY_ARGS = ("profile", "sets", "num_samples", "max_epochs", "max_concurrent", "seed", "param_cap",
              "searcher", "scheduler", "tracking_uri", "data_root", "confirm", "confirm_seeds",
              "no_baselines")


@dataclass(frozen=True)
class Resumable:
    path: str  # the experiment folder: a local path or a URI (see study.storage)
    record: dict[str, Any]


def save(exp_dir: str, args, parent_run_id: str, experiment_id: str, uri: str, data_root: Path, metric: str) -> None:
    """Write the record ``--resume`` reads into the experiment folder (local or a URI)."""
    record = {k: getattr(args, k) for k in STUDY_ARGS}
    record.update(study=args.study, tracking_uri=uri, data_root=str(data_root), parent_run_id=parent_run_id,
                  experiment_id=experiment_id, metric=metric)
    storage.write_text(storage.join(exp_dir, RECORD_FILE), json.dumps(record, indent=2))


def find_resumable(storage_path: str, study: str) -> Resumable:
    """The newest run of ``study`` under ``storage_path`` (a folder or a URI) that Tune can restore."""
    from study.resolve import get_study

    get_study(study)  # an unknown name is a UsageError naming the valid ones
    for name in reversed(storage.folders(storage_path, prefix=f"{study}-")):  # names end in a timestamp
        exp_dir = storage.join(storage_path, name)
        text = storage.read_text(storage.join(exp_dir, RECORD_FILE))
        if text is None:
            continue
        from ray.tune import Tuner  # seconds to import: only when there is a record to check

        if Tuner.can_restore(exp_dir):
            return Resumable(exp_dir, json.loads(text))
    raise UsageError(f"nothing to resume: no interrupted run of {study!r} under {storage_path}; "
                     "fix: run it without --resume, or pass the --storage-path it used")


def check_metric(record: dict[str, Any], study: str, metric: str) -> None:
    """Refuse to resume a run that selected on another metric: before the validation split, studies
    optimised a test metric (and their records name none), and one search cannot mix the two.

    Raises:
        UsageError: naming both metrics and how to start fresh.
    """
    recorded = record.get("metric")
    if recorded == metric:
        return
    was = (f"optimised {recorded}" if recorded else
           "was recorded before studies selected on a validation split (it optimised a test metric)")
    raise UsageError(f"cannot resume {study}: that run {was}, this version selects on {metric}, and one search cannot "
                     f"mix the two; fix: start fresh with python -m study.run {study} (without --resume); the old "
                     "run stays in MLflow and still exports")


def apply(args, record: dict[str, Any]) -> None:
    for key in STUDY_ARGS:
        setattr(args, key, record.get(key, getattr(args, key)))


SEARCH = "search"  # the phase of a search trial's run (runs recorded before phases existed have no tag)


def children(client, experiment_id: str, parent_run_id: str, phase: str | None = None) -> list:
    """The child runs of a study run; with ``phase``, only the search's (``"search"``) or the confirmation's."""
    from study.confirm import PHASE_TAG

    runs = mlflow_store.retry(client.search_runs, [experiment_id],
                              filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'", max_results=10_000)
    return runs if phase is None else [r for r in runs if r.data.tags.get(PHASE_TAG, SEARCH) == phase]


def close_stale_runs(client, experiment_id: str, parent_run_id: str) -> int:
    """Mark KILLED the child runs still RUNNING (their driver is gone); returns how many."""
    stale = [r for r in children(client, experiment_id, parent_run_id) if r.info.status == "RUNNING"]
    for run in stale:
        mlflow_store.retry(client.set_tag, run.info.run_id, "status", "killed")
        mlflow_store.retry(client.set_terminated, run.info.run_id, "KILLED")
    return len(stale)


FINAL_STATUSES = ("finished", "stopped_early", "failed")  # the callback's tag on a run it ended


def has_ended(run) -> bool:
    """The callback ended this MLflow run (KILLED runs, left by a dead driver, continue)."""
    return run.info.status in ("FINISHED", "FAILED") and run.data.tags.get("status") in FINAL_STATUSES


def ended_trials(client, experiment_id: str, parent_run_id: str, metric: str) -> dict[str, dict]:
    """trial id -> the last result of every trial MLflow records as ended.

    Tune snapshots its experiment state every few seconds, so a driver killed just after a trial
    ended may leave a snapshot in which that trial is still running. MLflow is the record: on
    ``--resume`` such a trial reports this result back (its last value, at its last epoch) instead
    of training again, so the searcher and scheduler learn how it ended and nothing runs twice.
    """
    ended = {}
    for run in children(client, experiment_id, parent_run_id):
        if not has_ended(run):
            continue
        tags = run.data.tags
        history = [m for m in mlflow_store.retry(client.get_metric_history, run.info.run_id, metric)
                   if math.isfinite(m.value)]
        last = max(history, key=lambda m: m.step).value if history else math.nan
        result = {metric: last, "training_iteration": int(tags.get("epochs_run", 0))}
        if tags["status"] == "failed":
            result.update({metric: math.nan, keys.FAILURE: tags.get("error", "failed")})
        ended[tags["trial_id"]] = result
    return ended


def outcomes(client, experiment_id: str, parent_run_id: str, metric: str, mode: str,
             test_metric: str | None = None, phase: str = SEARCH) -> dict[str, dict]:
    """trial id -> status, reports, best ``metric`` (validation), run id and error, read back from MLflow.

    ``test`` is ``test_metric`` at the report where ``metric`` was best (the checkpoint the trial
    keeps): reported beside it, never used to choose.
    """
    out = {}
    for run in children(client, experiment_id, parent_run_id, phase):
        history = [(m.step, m.value) for m in mlflow_store.retry(client.get_metric_history, run.info.run_id, metric)
                   if math.isfinite(m.value)]
        best = (min if mode == "min" else max)(history, key=lambda p: p[1]) if history else None
        test = None
        if best is not None and test_metric:
            at = [m.value for m in mlflow_store.retry(client.get_metric_history, run.info.run_id, test_metric)
                  if m.step == best[0]]
            test = at[0] if at else None
        tags = run.data.tags
        out[tags["trial_id"]] = {
            "status": tags.get("status", "killed"), "run_id": run.info.run_id, "error": tags.get("error"),
            "epochs": int(tags.get("epochs_run", 0)), "best": None if best is None else best[1],
            "best_report": None if best is None else best[0], "test": test, "confirm_of": tags.get("confirm_of"),
        }
    return out
