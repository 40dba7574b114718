"""Reading a study back from MLflow: the parent run of one invocation and its trials' child runs.

Nothing here writes to MLflow or trains anything. Bad input (an unreachable tracking URI, an
unknown study, an experiment without study runs) raises :class:`RecordError`, whose message is one
line naming the problem and the fix; ``python -m analysis.export`` turns it into exit code 2.
"""

from __future__ import annotations

import json
import math
import tempfile
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainables import metric_names as M

STATUSES = ("finished", "stopped_early", "failed", "killed", "rejected_cap")
REJECTED_FILE = "rejected.json"  # optional parent artifact: configurations over the parameter cap


class RecordError(Exception):
    """The MLflow record cannot be read as a study; ``str(e)`` is one line with the fix."""


@dataclass
class Trial:
    """One trial: its child run's tags, typed config, last metric values and per-report histories."""

    run_id: str | None  # None for a configuration rejected by the parameter cap (never a run)
    trial_id: str
    status: str  # one of STATUSES
    epochs: int  # reports made (epochs for VAEs)
    config: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)  # last value of every logged metric
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # metric -> [(report, value)]
    stopped_by: str | None = None
    error: str | None = None
    failure_reason: str | None = None
    n_params: int | None = None
    tags: dict[str, str] = field(default_factory=dict)  # the child run's tags (confirm_of, confirm_seed ...)

    def series(self, metric: str) -> list[tuple[int, float]]:
        """Finite ``(report, value)`` pairs of ``metric``, in report order."""
        return [(s, v) for s, v in self.history.get(metric, []) if math.isfinite(v)]

    def best(self, metric: str, mode: str) -> tuple[int, float] | None:
        """The best ``(report, value)`` of ``metric`` (min or max), or None when never logged."""
        points = self.series(metric)
        if not points:
            return None
        return (min if mode == "min" else max)(points, key=lambda p: p[1])

    def at(self, metric: str, report: int) -> float | None:
        """``metric`` at report ``report``, or None when the trial did not log it there."""
        return next((v for s, v in self.series(metric) if s == report), None)


@dataclass
class StudyRecord:
    """One invocation of a study (a parent run) with its trials."""

    study: str
    family: str
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    parent_name: str
    parent_status: str
    metric: str
    mode: str
    params: dict[str, str]  # the parent run's params (budgets, fixed.*, best.*)
    tags: dict[str, str]
    parent_metrics: dict[str, float]
    trials: list[Trial]
    max_reports: int  # reports a trial makes when ASHA lets it finish (ASHA's max_t)
    test_metric: str = ""  # the test counterpart shown beside the metric; the metric itself for legacy records
    confirmations: list[Trial] = field(default_factory=list)  # the top configurations again with fresh seeds

    @property
    def selected_on_test(self) -> bool:
        """A record made before studies selected on a validation split: its study metric was a test metric."""
        return not M.is_selection_metric(self.metric)

    @property
    def selection_note(self) -> str:
        """What the ranking metric was computed on, for tables and captions."""
        if self.selected_on_test:
            return (f"{self.metric} is a test-set metric: this study was recorded before genstudy selected on a "
                    "validation split, so its ranking and best trial were chosen on the test set")
        return f"ranked by {self.metric} (validation split); {self.test_metric} (test split) is reported, never selected on"

    def test_at_best(self, trial: Trial) -> float | None:
        """``test_metric`` at the report where the trial's study metric was best (its kept checkpoint)."""
        best = trial.best(self.metric, self.mode)
        return None if best is None else trial.at(self.test_metric, best[0])

    @property
    def fixed(self) -> dict[str, str]:
        return {k[len("fixed."):]: v for k, v in self.params.items() if k.startswith("fixed.")}

    @property
    def searched(self) -> list[str]:
        """Config keys the search varied: not fixed for the study and taking two or more values."""
        trained = [t for t in self.trials if t.run_id is not None]
        keys = sorted({k for t in trained for k in t.config} - set(self.fixed))
        return [k for k in keys if len({repr(t.config.get(k)) for t in trained}) > 1]

    @property
    def best_run_id(self) -> str | None:
        return self.tags.get("best_run_id")

    @property
    def grace_period(self) -> int | None:
        return _int(self.params.get("grace_period"))

    @property
    def reduction_factor(self) -> int | None:
        return _int(self.params.get("reduction_factor"))

    def trial(self, run_id: str) -> Trial:
        return next(t for t in self.trials if t.run_id == run_id)

    @property
    def best_trial(self) -> Trial | None:
        """The trial the study run named best (``best_run_id``), else the best of :meth:`scored`."""
        return next((t for t in self.trials if t.run_id == self.best_run_id), None) or next(iter(self.scored()), None)

    def scored(self) -> list[Trial]:
        """Trials that trained successfully (finished, or stopped early by ASHA) with a finite study
        metric, best first: the same set ``study.run`` picks its best from (a trial that diverged
        after good epochs is not a configuration to recommend)."""
        ranked = [t for t in self.trials if t.status in ("finished", "stopped_early")
                  and t.best(self.metric, self.mode) is not None]
        return sorted(ranked, key=lambda t: t.best(self.metric, self.mode)[1], reverse=self.mode == "max")


def check_uri(uri: str) -> None:
    """Raise RecordError unless ``uri`` names an existing MLflow store (nothing is created)."""
    if uri.startswith("sqlite:///"):
        from study.mlflow_store import sqlite_path

        db = sqlite_path(uri)
        try:
            header = db.open("rb").read(16)
        except OSError:
            raise RecordError(f"tracking URI {uri!r}: no MLflow database at {db}; fix: pass the --tracking-uri "
                              "the study was run with") from None
        if header != b"SQLite format 3\x00":
            raise RecordError(f"tracking URI {uri!r}: {db} is not an SQLite database; fix: pass the --tracking-uri "
                              "the study was run with")
        return
    if uri.startswith(("http://", "https://")):
        from study.errors import UsageError
        from study.mlflow_store import preflight

        try:
            preflight(uri, timeout_s=5.0)
        except UsageError as e:
            raise RecordError(str(e)) from None
        return
    raise RecordError(f"tracking URI {uri!r} is not sqlite:///PATH or http(s)://HOST:PORT; fix: pass the "
                      "--tracking-uri the study was run with")


def load(study: str, uri: str, parent_run_id: str | None = None) -> StudyRecord:
    """Read one invocation of ``study`` (default: the newest parent run) from ``uri``.

    Raises:
        RecordError: unreachable URI, unknown study, empty experiment, a bad ``parent_run_id``.
    """
    from study.mlflow_store import client as make_client, retry

    check_uri(uri)
    client = make_client(uri)
    exp = retry(client.get_experiment_by_name, study)
    if exp is None:
        names = sorted(e.name for e in retry(client.search_experiments) if e.name != "Default")
        raise RecordError(f"unknown study {study!r}: no such experiment in {uri}; studies recorded there: "
                          f"{', '.join(names) or 'none'}; fix: run python -m study.run {study} first or pick one")
    parent = _parent(client, exp.experiment_id, study, parent_run_id)
    from study.invocation import children

    runs = children(client, exp.experiment_id, parent.info.run_id)
    params = dict(parent.data.params)
    family = _family(study, client, runs)
    from study.confirm import CONFIRM, PHASE_TAG

    loaded = [_trial(client, run, family) for run in runs]
    confirmations = [t for t in loaded if t.tags.get(PHASE_TAG) == CONFIRM]
    trials = [t for t in loaded if t.tags.get(PHASE_TAG) != CONFIRM] + _rejected(client, parent.info.run_id, family)
    if not trials:
        raise RecordError(f"study {study!r}: parent run {parent.info.run_id} has no trials (every configuration "
                          "over the cap, or interrupted before the first); fix: pick another run with --run")
    record = StudyRecord(
        study=study, family=family, tracking_uri=uri, experiment_id=exp.experiment_id,
        parent_run_id=parent.info.run_id, parent_name=parent.info.run_name or parent.info.run_id,
        parent_status=parent.info.status, metric=params.get("metric", ""), mode=params.get("mode", "min"),
        params=params, tags=dict(parent.data.tags), parent_metrics=dict(parent.data.metrics),
        trials=sorted(trials, key=lambda t: (t.run_id is None, t.trial_id)), max_reports=0,
        confirmations=sorted(confirmations, key=lambda t: (int(t.tags.get("confirm_rank", 0)), t.trial_id)))
    record.max_reports = _int(params.get("max_t")) or _max_reports(record)  # max_t: logged on the parent; older runs: inferred
    record.test_metric = params.get("test_metric") or (record.metric if record.selected_on_test
                                                        else M.test_counterpart(record.metric))
    return record


def _parent(client, experiment_id: str, study: str, parent_run_id: str | None):
    from study.mlflow_store import retry

    if parent_run_id is not None:
        try:
            run = retry(client.get_run, parent_run_id)
        except Exception:  # noqa: BLE001 - MLflow raises MlflowException for a missing run
            raise RecordError(f"no run {parent_run_id!r} in the tracking store; fix: pass a parent run id of "
                              f"{study!r} (tag role=study) or omit --run") from None
        if run.info.experiment_id != experiment_id or run.data.tags.get("role") != "study":
            raise RecordError(f"run {parent_run_id} is not a parent run of study {study!r}; fix: pass the parent "
                              "run (tag role=study), not a trial's run, or omit --run")
        return run
    runs = retry(client.search_runs, [experiment_id], filter_string="tags.role = 'study'",
                 order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        raise RecordError(f"study {study!r} has an experiment but no study runs in it; fix: run "
                          f"python -m study.run {study} with this --tracking-uri first")
    return runs[0]


def _family(study: str, client, runs) -> str:
    """The model family: from the study registry, else from a trial's checkpoint config.json."""
    from search_spaces import STUDIES

    if study in STUDIES:
        return STUDIES[study].family
    for run in runs:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = client.download_artifacts(run.info.run_id, "config.json", tmp)
                return json.loads(Path(path).read_text())["family"]
        except Exception:  # noqa: BLE001 - a failed trial has no checkpoint; try the next
            continue
    raise RecordError(f"study {study!r} is not in this version's registry and none of its trials has a "
                      "checkpoint naming its family; fix: export with the genstudy version that ran it")


def _trial(client, run, family: str) -> Trial:
    from study.mlflow_store import retry

    tags, metrics = run.data.tags, run.data.metrics
    history = {}
    for key in sorted(metrics):
        points = retry(client.get_metric_history, run.info.run_id, key)
        history[key] = sorted((int(m.step), float(m.value)) for m in points)
    status = tags.get("status") or ("killed" if run.info.status in ("KILLED", "RUNNING") else "failed")
    n_params = metrics.get(M.N_PARAMS)
    return Trial(run_id=run.info.run_id, trial_id=tags.get("trial_id", run.info.run_id[:8]), status=status,
                 epochs=int(tags.get("epochs_run", 0)), config=typed_config(run.data.params, family),
                 metrics=dict(metrics), history=history, stopped_by=tags.get("stopped_by"),
                 error=tags.get("error"), failure_reason=tags.get("failure_reason"),
                 n_params=None if n_params is None else int(n_params), tags=dict(tags))


def _rejected(client, parent_run_id: str, family: str) -> list[Trial]:
    """Configurations over the parameter cap, when the driver logged them as ``rejected.json``."""
    names = {a.path for a in client.list_artifacts(parent_run_id)}
    if REJECTED_FILE not in names:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        rows = json.loads(Path(client.download_artifacts(parent_run_id, REJECTED_FILE, tmp)).read_text())
    return [Trial(run_id=None, trial_id=f"rejected-{i + 1}", status="rejected_cap", epochs=0,
                  config=typed_config(row.get("config") or row.get("params") or {}, family),
                  n_params=_int(row.get("n_params")),
                  error=f"over the parameter cap ({row.get('n_params')} parameters); never trained")
            for i, row in enumerate(rows)]


def typed_config(params: dict[str, Any], family: str) -> dict[str, Any]:
    """MLflow's string params -> values of the family config's types (``"None"`` -> None, ``"True"`` -> True).

    Keys the config class does not know are kept as strings.
    """
    from trainables.families import FAMILIES

    hints = typing.get_type_hints(FAMILIES[family].config_cls)
    return {k: _parse(v, hints.get(k)) for k, v in sorted(params.items())}


def _parse(raw: Any, hint: Any) -> Any:
    if not isinstance(raw, str) or hint is None:
        return raw
    args = typing.get_args(hint)
    if type(None) in args:
        if raw in ("None", "null", ""):
            return None
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is bool:
            return {"true": True, "false": False}[raw.lower()]
        if hint is int:
            return int(float(raw)) if float(raw).is_integer() else raw
        return hint(raw)
    except (KeyError, TypeError, ValueError):
        return raw


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _max_reports(record: StudyRecord) -> int:
    """ASHA's max_t: from a ``stopped_by`` tag ("... report 2 of 4"), else the longest trial."""
    for t in record.trials:
        if t.stopped_by and " of " in t.stopped_by:
            value = _int(t.stopped_by.rsplit(" of ", 1)[1])
            if value:
                return value
    finished = [t.epochs for t in record.trials if t.status == "finished"]
    return max(finished or [t.epochs for t in record.trials] or [0])
