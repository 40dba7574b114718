"""Reading a study's runs back from MLflow: the child runs of an invocation and how each trial ended.

The driver reads here to pick the best trial, to resume, and to confirm; :mod:`record.study_record`
builds the analysis' whole record on top. Nothing here writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from record import schema as S
from record.store import retry

MAX_CHILDREN = 10_000  # runs one search_runs call returns: far above any study's trial count


@dataclass(frozen=True)
class Outcome:
    """How one trial ended, read back from its run: ``best`` is its best value of the study metric
    (validation) and ``test`` the test metric at that report (its kept checkpoint): reported, never chosen by."""

    trial_id: str
    run_id: str
    status: str  # one of schema.STATUSES
    reports: int
    best: float | None = None
    best_report: int | None = None
    test: float | None = None
    error: str | None = None
    confirm_of: str | None = None  # a confirmation run: the search trial it trains again

    @property
    def scored(self) -> bool:
        """It trained successfully and has a finite study metric: a candidate for the best trial."""
        return self.status in S.TRAINED and self.best is not None


def children(client, experiment_id: str, parent_run_id: str, phase: str | None = None) -> list:
    """The child runs of a study's parent run; with ``phase``, only the search's or the confirmation's."""
    runs = retry(client.search_runs, [experiment_id], filter_string=S.tag_filter(S.PARENT_RUN_ID, parent_run_id),
                 max_results=MAX_CHILDREN)
    return runs if phase is None else [r for r in runs if phase_of(r) == phase]


def phase_of(run) -> str:
    return run.data.tags.get(S.PHASE, S.SEARCH)


def status_of(run) -> str:
    """The status tag the study set; a run without one ended with its driver (killed) or never reported."""
    return run.data.tags.get(S.STATUS) or (S.KILLED if run.info.status in ("KILLED", "RUNNING") else S.FAILED)


def reports_of(run) -> int:
    return int(run.data.tags.get(S.REPORTS_RUN, 0))


def has_ended(run) -> bool:
    """The study's callback ended this run (KILLED runs, left by a dead driver, continue on resume)."""
    return run.info.status in ("FINISHED", "FAILED") and run.data.tags.get(S.STATUS) in S.ENDED


def history(client, run_id: str, metric: str) -> list[tuple[int, float]]:
    """``(report, value)`` of every finite value a run logged of ``metric``, in report order."""
    points = retry(client.get_metric_history, run_id, metric)
    return sorted((int(m.step), float(m.value)) for m in points if math.isfinite(m.value))


def best_point(points: list[tuple[int, float]], mode: str) -> tuple[int, float] | None:
    """The best ``(report, value)`` (min or max), or None for no points."""
    return (min if mode == "min" else max)(points, key=lambda p: p[1]) if points else None


def outcomes(client, experiment_id: str, parent_run_id: str, metric: str, mode: str, test_metric: str | None = None,
             phase: str = S.SEARCH) -> dict[str, Outcome]:
    """trial id -> :class:`Outcome` of every trial run of one phase of a study."""
    out = {}
    for run in children(client, experiment_id, parent_run_id, phase):
        best = best_point(history(client, run.info.run_id, metric), mode)
        test = None
        if best is not None and test_metric:
            test = dict(history(client, run.info.run_id, test_metric)).get(best[0])
        tags = run.data.tags
        out[tags[S.TRIAL_ID]] = Outcome(
            trial_id=tags[S.TRIAL_ID], run_id=run.info.run_id, status=tags.get(S.STATUS, S.KILLED),
            reports=reports_of(run), best=None if best is None else best[1],
            best_report=None if best is None else best[0], test=test, error=tags.get(S.ERROR),
            confirm_of=tags.get(S.CONFIRM_OF))
    return out


def find_trial_run(client, experiment_id: str, parent_run_id: str, trial_id: str) -> str | None:
    """The run a driver made for ``trial_id`` under this parent, if any."""
    runs = retry(client.search_runs, [experiment_id],
                 filter_string=f"{S.tag_filter(S.TRIAL_ID, trial_id)} and {S.tag_filter(S.PARENT_RUN_ID, parent_run_id)}")
    return runs[0].info.run_id if runs else None


def find_point_run(client, experiment_id: str, parent_run_id: str, tags: Mapping[str, str],
                   taken: Iterable[str]) -> str | None:
    """A run under this parent with every one of ``tags`` (a confirmation point's: which search trial, which seed)
    that no trial holds yet (``taken``), if any."""
    where = " and ".join([S.tag_filter(S.PARENT_RUN_ID, parent_run_id), *(S.tag_filter(k, v) for k, v in tags.items())])
    taken = set(taken)
    runs = retry(client.search_runs, [experiment_id], filter_string=where)
    return next((r.info.run_id for r in runs if r.info.run_id not in taken), None)


def last_report(client, run_id: str, metric: str) -> int:
    """The last report of ``metric`` a run holds (0 when none)."""
    return max((step for step, _ in history(client, run_id, metric)), default=0)


def json_artifact(client, run_id: str, name: str):
    """The JSON document a run holds as artifact ``name`` (at the top of its artifacts), or None without one."""
    import json
    import tempfile
    from pathlib import Path

    if name not in {a.path for a in retry(client.list_artifacts, run_id)}:
        return None
    with tempfile.TemporaryDirectory(prefix="genstudy-record-") as tmp:
        return json.loads(Path(retry(client.download_artifacts, run_id, name, tmp)).read_text())


def pbt_record(client, run_id: str, keys: tuple[str, ...]) -> tuple[list[dict], dict[str, float]]:
    """What a PBT trial's run holds so far: its exploits (every one, from :data:`schema.PBT_LINEAGE_FILE`; none
    when it has none) and the value of each mutated key in ``keys`` at its last logged report."""
    events = json_artifact(client, run_id, S.PBT_LINEAGE_FILE) or []
    values = {}
    for key in keys:
        points = history(client, run_id, S.pbt_value(key))
        if points:
            values[key] = points[-1][1]
    return events, values


def study_runs(client, experiment_id: str, newest_only: bool = False) -> list:
    """The parent runs (one per invocation) of a study's experiment, newest first."""
    return retry(client.search_runs, [experiment_id], filter_string=S.tag_filter(S.ROLE, S.ROLE_STUDY),
                 order_by=["attributes.start_time DESC"], max_results=1 if newest_only else MAX_CHILDREN)


def is_study_run(run, experiment_id: str) -> bool:
    return run.info.experiment_id == experiment_id and run.data.tags.get(S.ROLE) == S.ROLE_STUDY


def any_killed_by(client, experiment_id: str, parent_run_id: str, reason: str) -> bool:
    """Some trial run of the study was KILLED for ``reason`` (schema.KILLED_BY) and not continued since."""
    return any(r.data.tags.get(S.KILLED_BY) == reason for r in children(client, experiment_id, parent_run_id))
