"""What a run leaves beside Tune's experiment state so ``--resume`` can continue it, and what a
resumed study reads back from its MLflow record (the trials that ended after Tune's last snapshot)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from record import reader, store
from record import schema as S
from record.errors import UsageError
from study import result_keys as keys
from study import storage

RECORD_FILE = "genstudy.json"
# the arguments that define a study run; --resume takes them from the record, not the command line
STUDY_ARGS = ("profile", "sets", "num_samples", "max_epochs", "max_concurrent", "seed", "param_cap",
              "searcher", "scheduler", "tracking_uri", "data_root", "confirm", "confirm_seeds",
              "no_baselines", "no_publish", "objectives")


@dataclass(frozen=True)
class Resumable:
    path: str  # the experiment folder: a local path or a URI (see study.storage)
    record: dict[str, Any]


def save(exp_dir: str, args, parent_run_id: str, experiment_id: str, uri: str, data_root: Path, metric: str) -> None:
    """Write the record ``--resume`` reads into the experiment folder (local or a URI)."""
    record = {k: getattr(args, k) for k in STUDY_ARGS}
    # the tracking URI without its password: the record sits in the storage path, often shared or an object store
    record.update(study=args.study, tracking_uri=store.without_password(uri), data_root=str(data_root),
                  parent_run_id=parent_run_id,
                  experiment_id=experiment_id, metric=metric)
    storage.write_text(storage.join(exp_dir, RECORD_FILE), json.dumps(record, indent=2))


def find_resumable(storage_path: str, study: str) -> Resumable:
    """The newest run of ``study`` under ``storage_path`` (a folder or a URI) that Tune can restore."""
    from study.resolve import get_study

    get_study(study)  # an unknown name is a UsageError naming the valid ones
    try:
        names = storage.folders(storage_path, prefix=f"{study}-")
    except OSError as e:  # a file, a folder we may not read, an object store that does not answer
        raise UsageError(f"cannot list --storage-path {storage_path} ({e}); fix: pass the folder or URI the run "
                         "used") from None
    for name in reversed(names):  # names end in a timestamp
        exp_dir = storage.join(storage_path, name)
        text = storage.read_text(storage.join(exp_dir, RECORD_FILE))
        if text is None:
            continue
        from ray.tune import Tuner  # seconds to import: only when there is a record to check

        if Tuner.can_restore(exp_dir):
            return Resumable(exp_dir, json.loads(text))
    raise UsageError(f"nothing to resume: no interrupted run of {study!r} under {storage_path}; "
                     "fix: run it without --resume, or pass the --storage-path it used")


def finished(record: dict[str, Any]) -> bool:
    """Whether the run ``record`` describes ended: its MLflow parent run is FINISHED (an interrupted or
    killed study's is KILLED, or RUNNING when its driver died). Reads a SQLite database only if it exists.

    Raises:
        UsageError: the record's database is gone, or holds no such parent run.
    """
    from mlflow.exceptions import MlflowException

    uri, parent_id = record["tracking_uri"], record["parent_run_id"]
    fix = "fix: pass the --storage-path of another run, or start a new study without --resume"
    db = store.sqlite_path(uri)
    if db is not None and not db.is_file():
        raise UsageError(f"the run to resume was recorded in {uri}, and {db} does not exist; {fix}")
    try:
        run = store.retry(store.client(uri).get_run, parent_id)
    except MlflowException as e:
        if e.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        raise UsageError(f"the run to resume names MLflow parent run {parent_id}, which {store.shown_uri(uri)} does "
                         f"not hold; {fix}") from None
    return run.info.status == "FINISHED"


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
    """The recorded run's arguments onto ``args``. The tracking URI is the recorded one, whose password
    :func:`save` left out: the resuming driver's own ``--tracking-uri`` (or ``$MLFLOW_TRACKING_URI``) supplies it
    when it names the same database with a password; otherwise the database client's environment does."""
    given = store.tracking_uri(args.tracking_uri)
    for key in STUDY_ARGS:
        setattr(args, key, record.get(key, getattr(args, key)))
    if given != args.tracking_uri and store.without_password(given) == args.tracking_uri:
        args.tracking_uri = given
    args.objectives = record.get("objectives")  # a run recorded before --objectives existed had one objective


def ended_trials(client, experiment_id: str, parent_run_id: str, metric: str) -> dict[str, dict]:
    """trial id -> the last result of every trial MLflow records as ended.

    Tune snapshots its experiment state every few seconds, so a driver killed just after a trial
    ended may leave a snapshot in which that trial is still running. MLflow is the record: on
    ``--resume`` such a trial reports this result back (its last value, at its last epoch) instead
    of training again, so the searcher and scheduler learn how it ended and nothing runs twice.
    """
    ended = {}
    for run in reader.children(client, experiment_id, parent_run_id):
        if not reader.has_ended(run):
            continue
        tags = run.data.tags
        history = reader.history(client, run.info.run_id, metric)
        result = {metric: history[-1][1] if history else math.nan, keys.ITERATION: reader.reports_of(run)}
        if tags[S.STATUS] == S.FAILED:
            result.update({metric: math.nan, keys.FAILURE: tags.get(S.ERROR, S.FAILED)})
        ended[tags[S.TRIAL_ID]] = result
    return ended
