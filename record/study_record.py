"""A study read back from MLflow for analysis: the parent run of one invocation and its trials.

Nothing here writes to MLflow or trains anything. Bad input (an unreachable tracking URI, an
unknown study, an experiment without study runs) raises :class:`RecordError`, whose message is one
line naming the problem and the fix; ``python -m analysis.export`` turns it into exit code 2.

What a record says of itself is read from the record: the family and the unit of a report from the
parent run's tags (records made before those tags: the family from a trial's checkpoint), the
references from its ``references.json``. Nothing is looked up in the study registry.
"""

from __future__ import annotations

import json
import math
import tempfile
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from record import reader
from record import schema as S
from record.errors import RecordError, UsageError
from record.objectives import Objective, decode
from record.references import Reference
from record.store import client as make_client, is_database_server, preflight, retry, shown_uri, sqlite_path
from trainables import metric_names as M

ConfigTypes = Callable[[str], "type | None"]  # family name -> its config dataclass (for typed params), or None
FamilyOfKeys = Callable[[set], "str | None"]  # a trial's config keys -> the one family whose config has them all

@dataclass
class Trial:
    """One trial: its child run's tags, typed config, last metric values and per-report histories."""

    run_id: str | None  # None for a configuration rejected by the parameter cap (never a run)
    trial_id: str
    status: str  # one of schema.STATUSES
    epochs: int  # reports made (epochs for the VAE families)
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
    unit: str = "report"  # what one report is: "epoch" (VAE families) or "report"
    references: tuple[Reference, ...] = ()  # published numbers shown beside ours (never used to choose)

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
    def objectives(self) -> tuple[Objective, ...]:
        """A multi-objective study's objectives, the first its metric (:mod:`record.objectives`); () for one."""
        return decode(self.params.get(S.OBJECTIVES))

    @property
    def fixed(self) -> dict[str, str]:
        return {k[len(S.FIXED_PREFIX):]: v for k, v in self.params.items() if k.startswith(S.FIXED_PREFIX)}

    @property
    def searched(self) -> list[str]:
        """Config keys the search varied: not fixed for the study and taking two or more values."""
        trained = [t for t in self.trials if t.run_id is not None]
        keys = sorted({k for t in trained for k in t.config} - set(self.fixed))
        return [k for k in keys if len({repr(t.config.get(k)) for t in trained}) > 1]

    @property
    def best_run_id(self) -> str | None:
        return self.tags.get(S.BEST_RUN_ID)

    @property
    def grace_period(self) -> int | None:
        return _int(self.params.get(S.GRACE_PERIOD))

    @property
    def scheduler(self) -> str:
        """The search's scheduler (asha, hyperband, pbt, fifo); asha for records made before it was a param."""
        return self.params.get(S.SCHEDULER, "asha")

    @property
    def reduction_factor(self) -> int | None:
        return _int(self.params.get(S.REDUCTION_FACTOR))

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
        ranked = [t for t in self.trials if t.status in S.TRAINED and t.best(self.metric, self.mode) is not None]
        return sorted(ranked, key=lambda t: t.best(self.metric, self.mode)[1], reverse=self.mode == "max")


def check_uri(uri: str) -> None:
    """Raise RecordError unless ``uri`` names an existing MLflow store (nothing is created)."""
    db = sqlite_path(uri)
    if db is not None:
        try:
            header = db.open("rb").read(16)
        except OSError:
            raise RecordError(f"tracking URI {uri!r}: no MLflow database at {db}; fix: pass the --tracking-uri "
                              "the study was run with") from None
        if header != b"SQLite format 3\x00":
            raise RecordError(f"tracking URI {uri!r}: {db} is not an SQLite database; fix: pass the --tracking-uri "
                              "the study was run with")
        return
    if uri.startswith(("http://", "https://")) or is_database_server(uri):
        try:
            preflight(uri, timeout_s=5.0)
        except UsageError as e:  # the same message, as the reader's error type
            raise RecordError(str(e)) from None
        return
    raise RecordError(f"tracking URI {uri!r} is not sqlite:///PATH, http(s)://HOST:PORT or a database server's "
                      "URI (postgresql+psycopg://...); fix: pass the --tracking-uri the study was run with")


def load(study: str, uri: str, parent_run_id: str | None = None, config_types: ConfigTypes = lambda _: None,
         units: Callable[[str], str] = lambda _: "report", family_of_keys: FamilyOfKeys = lambda _: None) -> StudyRecord:
    """Read one invocation of ``study`` (default: the newest parent run) from ``uri``.

    Args:
        config_types: the config dataclass of a family, to type its trials' params (analysis passes the
            trainables registry's); None keeps strings.
        units: the unit of a family's report, for records made before the parent run named it.
        family_of_keys: the family whose config has all of a trial's keys, for records made before the
            parent run named its family and without a trial checkpoint that names it.
    Raises:
        RecordError: unreachable URI, unknown study, empty experiment, a bad ``parent_run_id``.
    """
    check_uri(uri)
    client = make_client(uri)
    exp = retry(client.get_experiment_by_name, study)
    if exp is None:
        names = sorted(e.name for e in retry(client.search_experiments) if e.name != "Default")
        raise RecordError(f"unknown study {study!r}: no such experiment in {shown_uri(uri)}; studies recorded there: "
                          f"{', '.join(names) or 'none'}; fix: run python -m study.run {study} first or pick one")
    parent = _parent(client, exp.experiment_id, study, parent_run_id)
    runs = reader.children(client, exp.experiment_id, parent.info.run_id)
    params, tags = dict(parent.data.params), dict(parent.data.tags)
    family = tags.get(S.FAMILY) or _family_from_checkpoint(client, runs) or _family_from_params(study, runs,
                                                                                                family_of_keys)
    hints = _hints(config_types(family))
    loaded = [_trial(client, run, hints) for run in runs]
    confirmations = [t for t in loaded if t.tags.get(S.PHASE) == S.CONFIRM]
    trials = [t for t in loaded if t.tags.get(S.PHASE) != S.CONFIRM] + _rejected(client, parent.info.run_id, hints)
    if not trials:
        raise RecordError(f"study {study!r}: parent run {parent.info.run_id} has no trials (every configuration "
                          "over the cap, or interrupted before the first); fix: pick another run with --run")
    record = StudyRecord(
        study=study, family=family, tracking_uri=uri, experiment_id=exp.experiment_id,
        parent_run_id=parent.info.run_id, parent_name=parent.info.run_name or parent.info.run_id,
        parent_status=parent.info.status, metric=params.get(S.METRIC, ""), mode=params.get(S.MODE, "min"),
        params=params, tags=tags, parent_metrics=dict(parent.data.metrics),
        trials=sorted(trials, key=lambda t: (t.run_id is None, t.trial_id)), max_reports=0,
        confirmations=sorted(confirmations, key=lambda t: (int(t.tags.get(S.CONFIRM_RANK, 0)), t.trial_id)),
        unit=tags.get(S.UNIT) or units(family), references=_references(client, parent.info.run_id))
    record.max_reports = _int(params.get(S.MAX_T)) or _max_reports(record)  # older runs: inferred
    record.test_metric = params.get(S.TEST_METRIC) or (record.metric if record.selected_on_test
                                                       else M.test_counterpart(record.metric))
    return record


def _parent(client, experiment_id: str, study: str, parent_run_id: str | None):
    if parent_run_id is not None:
        try:
            run = retry(client.get_run, parent_run_id)
        except Exception:  # noqa: BLE001 - MLflow raises MlflowException for a missing run
            raise RecordError(f"no run {parent_run_id!r} in the tracking store; fix: pass a parent run id of "
                              f"{study!r} (tag {S.ROLE}={S.ROLE_STUDY}) or omit --run") from None
        if not reader.is_study_run(run, experiment_id):
            raise RecordError(f"run {parent_run_id} is not a parent run of study {study!r}; fix: pass the parent "
                              f"run (tag {S.ROLE}={S.ROLE_STUDY}), not a trial's run, or omit --run")
        return run
    runs = reader.study_runs(client, experiment_id, newest_only=True)
    if not runs:
        raise RecordError(f"study {study!r} has an experiment but no study runs in it; fix: run "
                          f"python -m study.run {study} with this --tracking-uri first")
    return runs[0]


def _family_from_checkpoint(client, runs) -> str | None:
    """A record made before the parent run named its family: a trial checkpoint's ``config.json`` names it."""
    from trainables.checkpoint import CONFIG_FILE, FAMILY_KEY

    for run in runs:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = client.download_artifacts(run.info.run_id, CONFIG_FILE, tmp)
                return json.loads(Path(path).read_text())[FAMILY_KEY]
        except Exception:  # noqa: BLE001 - a failed trial has no checkpoint; try the next
            continue
    return None


def _family_from_params(study: str, runs, family_of_keys: FamilyOfKeys) -> str:
    """Neither the parent run nor a checkpoint names the family: the one whose config has every trial's keys."""
    keys = {k for run in runs for k in run.data.params}
    family = family_of_keys(keys) if keys else None
    if family is None:
        raise RecordError(f"study {study!r}: its parent run names no family, no trial has a checkpoint naming one, "
                          "and its trials' config keys fit no single family; fix: export with the genstudy version "
                          "that ran it")
    return family


def _references(client, parent_run_id: str) -> tuple[Reference, ...]:
    rows = reader.json_artifact(client, parent_run_id, S.REFERENCES_FILE) or []
    return tuple(Reference.from_dict(row) for row in rows)


def _trial(client, run, hints: dict[str, Any]) -> Trial:
    tags, metrics = run.data.tags, run.data.metrics
    history = {}
    for key in sorted(metrics):
        points = retry(client.get_metric_history, run.info.run_id, key)
        history[key] = sorted((int(m.step), float(m.value)) for m in points)
    n_params = metrics.get(M.N_PARAMS)
    return Trial(run_id=run.info.run_id, trial_id=tags.get(S.TRIAL_ID, run.info.run_id[:8]),
                 status=reader.status_of(run), epochs=reader.reports_of(run),
                 config=typed_params(run.data.params, hints), metrics=dict(metrics), history=history,
                 stopped_by=tags.get(S.STOPPED_BY), error=tags.get(S.ERROR), failure_reason=tags.get(S.FAILURE_REASON),
                 n_params=None if n_params is None else int(n_params), tags=dict(tags))


def _rejected(client, parent_run_id: str, hints: dict[str, Any]) -> list[Trial]:
    """Configurations over the parameter cap, when the driver logged them as ``rejected.json``."""
    rows = reader.json_artifact(client, parent_run_id, S.REJECTED_FILE) or []
    return [Trial(run_id=None, trial_id=f"rejected-{i + 1}", status=S.REJECTED_CAP, epochs=0,
                  config=typed_params(row.get("config") or row.get("params") or {}, hints),
                  n_params=_int(row.get("n_params")),
                  error=f"over the parameter cap ({row.get('n_params')} parameters); never trained")
            for i, row in enumerate(rows)]


def _hints(config_cls: type | None) -> dict[str, Any]:
    return typing.get_type_hints(config_cls) if config_cls is not None else {}


def typed_params(params: dict[str, Any], hints: dict[str, Any]) -> dict[str, Any]:
    """MLflow's string params -> values of the types ``hints`` gives (a config class's type hints:
    ``"None"`` -> None, ``"True"`` -> True). Keys without a hint are kept as strings.
    """
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
    finished = [t.epochs for t in record.trials if t.status == S.FINISHED]
    return max(finished or [t.epochs for t in record.trials] or [0])
