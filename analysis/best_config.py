"""``best_config.yaml``: the best trial's full config (and the top k; a multi-objective study's Pareto front)
from a study's record.

The file is what ``python -m study.run STUDY --from-config best_config.yaml`` trains again; its format,
and reading it back, live in :mod:`record.config_file`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analysis import pareto
from analysis.record import StudyRecord, Trial
from record import config_file, store


def _entry(record: StudyRecord, trial: Trial, rank: int, objectives: dict[str, Any] | None = None) -> dict[str, Any]:
    report, value = trial.best(record.metric, record.mode)
    metric = {"name": record.metric, "mode": record.mode, "best": value, "best_report": report,
              "selected_on": "test" if record.selected_on_test else "val"}
    if not record.selected_on_test:  # the kept checkpoint's test number: reported beside, never ranked on
        metric.update(test_name=record.test_metric, test=record.test_at_best(trial))
    return config_file.entry(rank, trial.trial_id, trial.run_id, trial.status, trial.epochs, trial.n_params, metric,
                             trial.config, objectives)


def document(record: StudyRecord, top_k: int = 5) -> dict[str, Any]:
    """The YAML document: study, provenance, the best trial and the ``top_k`` best; for a multi-objective
    study, every point of its Pareto front (:mod:`analysis.pareto`), ranked along it, whatever ``top_k``.

    Raises:
        ValueError: no trial has a finite value of the study metric (of every objective, and finished).
    """
    source = {"tracking_uri": store.without_password(record.tracking_uri), "experiment_id": record.experiment_id,
              "parent_run_id": record.parent_run_id, "parent_run_name": record.parent_name}
    if record.objectives:
        points = pareto.front(record)
        if not points:
            raise ValueError(f"no trial of {record.study!r} finished with a finite value of every objective: no "
                             "Pareto front")
        return config_file.document(record.study, record.family, source,
                                    [_entry(record, t, k, v) for k, (t, v) in enumerate(points, 1)], record.objectives)
    scored = record.scored()
    if not scored:
        raise ValueError(f"no trial of {record.study!r} logged a finite {record.metric}")
    return config_file.document(record.study, record.family, source,
                                [_entry(record, t, i + 1) for i, t in enumerate(scored[:top_k])])


def write(record: StudyRecord, path: str | Path, top_k: int = 5) -> dict[str, Any]:
    """Write ``best_config.yaml`` to ``path``; returns the document."""
    doc = document(record, top_k)
    config_file.write(doc, path)
    return doc
