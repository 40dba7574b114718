"""``best_config.yaml``: the best trial's full config (and the top k), and reading it back.

The file is what ``python -m study.run STUDY --from-config best_config.yaml`` trains again: the
``best.config`` mapping is the trial's complete, flat config (the same keys as ``--set`` and the
MLflow params, seed included), so the rerun needs nothing from the search space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from analysis.record import StudyRecord, Trial

FORMAT_VERSION = 1


class ConfigFileError(Exception):
    """A best_config.yaml that cannot be read; ``str(e)`` is one line with the fix."""


def _entry(record: StudyRecord, trial: Trial, rank: int) -> dict[str, Any]:
    report, value = trial.best(record.metric, record.mode)
    metric = {"name": record.metric, "mode": record.mode, "best": value, "best_report": report,
              "selected_on": "test" if record.selected_on_test else "val"}
    if not record.selected_on_test:  # the kept checkpoint's test number: reported beside, never ranked on
        metric.update(test_name=record.test_metric, test=record.test_at_best(trial))
    return {"rank": rank, "trial_id": trial.trial_id, "run_id": trial.run_id, "status": trial.status,
            "epochs_run": trial.epochs, "n_params": trial.n_params, "metric": metric, "config": dict(trial.config)}


def document(record: StudyRecord, top_k: int = 5) -> dict[str, Any]:
    """The YAML document: study, provenance, the best trial and the ``top_k`` best.

    Raises:
        ValueError: no trial has a finite value of the study metric.
    """
    scored = record.scored()
    if not scored:
        raise ValueError(f"no trial of {record.study!r} logged a finite {record.metric}")
    return {
        "format_version": FORMAT_VERSION, "study": record.study, "family": record.family,
        "source": {"tracking_uri": record.tracking_uri, "experiment_id": record.experiment_id,
                   "parent_run_id": record.parent_run_id, "parent_run_name": record.parent_name},
        "rerun": f"python -m study.run {record.study} --from-config best_config.yaml",
        "best": _entry(record, scored[0], 1),
        "top_k": [_entry(record, t, i + 1) for i, t in enumerate(scored[:top_k])],
    }


def write(record: StudyRecord, path: str | Path, top_k: int = 5) -> dict[str, Any]:
    """Write ``best_config.yaml`` to ``path``; returns the document."""
    doc = document(record, top_k)
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    return doc


def read(path: str | Path, rank: int = 1) -> tuple[str, str, dict[str, Any]]:
    """``(study, family, config)`` of the trial ranked ``rank`` in a best_config.yaml.

    ``config`` is the flat config dict the family's config class accepts (``VAEConfig(**config)``).

    Raises:
        ConfigFileError: unreadable file, not a best_config.yaml, or no trial of that rank.
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigFileError(f"cannot read {p}: {e}; fix: pass the best_config.yaml written by "
                              "python -m analysis.export") from None
    if not isinstance(doc, dict) or not {"study", "family", "best"} <= set(doc):
        raise ConfigFileError(f"{p} is not a best_config.yaml (no study/family/best); fix: pass the file "
                              "written by python -m analysis.export")
    entries = [doc["best"], *doc.get("top_k", [])]
    entry = next((e for e in entries if e.get("rank") == rank), None)
    if entry is None or not isinstance(entry.get("config"), dict):
        ranks = sorted({e.get("rank") for e in entries if isinstance(e, dict)})
        raise ConfigFileError(f"{p} has no trial of rank {rank}; ranks present: {ranks}")
    return doc["study"], doc["family"], dict(entry["config"])
