"""The ``best_config.yaml`` format: ``analysis.export`` writes it, ``study.run --from-config`` reads it.

The ``best.config`` mapping (and each ``top_k[i].config``) is a trial's complete, flat config: the same
keys as ``--set`` and the MLflow params, seed included, so a rerun needs nothing from the search space.

A multi-objective study's file (``objectives`` and ``ranking`` keys, and a comment at the top saying so) holds
its Pareto front in ``top_k``: every point, rank 1..K along the front, ordered by the first objective, best
first; each entry's ``objectives`` maps each objective and its test counterpart to the trial's value. ``best`` is
rank 1. ``--rank K`` picks point K either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml

from record import schema as S
from record.objectives import Objective

FORMAT_VERSION = 1
# the document's keys
STUDY, FAMILY, BEST, TOP_K, RANK, CONFIG = "study", "family", "best", "top_k", "rank", "config"
OBJECTIVES, RANKING = "objectives", "ranking"  # a multi-objective study's


class ConfigFileError(Exception):
    """A best_config.yaml that cannot be read; ``str(e)`` is one line with the fix."""


def entry(rank: int, trial_id: str, run_id: str | None, status: str, reports: int, n_params: int | None,
          metric: dict[str, Any], config: dict[str, Any], objectives: dict[str, Any] | None = None) -> dict[str, Any]:
    """One ranked trial of the document: who it is, how it ended, its metric block (a multi-objective study's:
    its value of each objective) and its full config."""
    values = {} if objectives is None else {OBJECTIVES: dict(objectives)}
    return {RANK: rank, S.TRIAL_ID: trial_id, "run_id": run_id, S.STATUS: status, S.REPORTS_RUN: reports,
            "n_params": n_params, S.METRIC: metric, **values, CONFIG: dict(config)}


def document(study: str, family: str, source: dict[str, Any], ranked: list[dict[str, Any]],
             objectives: Sequence[Objective] = ()) -> dict[str, Any]:
    """The YAML document: the study, where its record is (``source``), the best entry and the ranked ones;
    with several ``objectives``, ``ranked`` is their Pareto front."""
    shown = [f"{o.name} ({o.mode})" for o in objectives]
    pareto = {} if not objectives else {
        OBJECTIVES: shown,
        RANKING: f"the Pareto front of {' and '.join(shown)}: top_k holds every point of the front, rank 1..K along "
                 f"it, ordered by {objectives[0].name} (the first objective), best first; only trials that finished "
                 "are candidates; --rank K trains point K"}
    return {"format_version": FORMAT_VERSION, STUDY: study, FAMILY: family, "source": source, **pareto,
            "rerun": f"python -m study.run {study} --from-config best_config.yaml", BEST: ranked[0], TOP_K: ranked}


def write(doc: dict[str, Any], path: str | Path) -> None:
    """Write a :func:`document` as YAML (a multi-objective study's with its ranking as a comment at the top)."""
    comment = f"# {doc[RANKING]}\n" if RANKING in doc else ""
    Path(path).write_text(comment + yaml.safe_dump(doc, sort_keys=False, width=120))


def read(path: str | Path, rank: int = 1) -> tuple[str, str, dict[str, Any]]:
    """``(study, family, config)`` of the trial ranked ``rank`` in a best_config.yaml.

    ``config`` is the flat config dict the family's config class accepts (``VAEConfig(**config)``).

    Raises:
        ConfigFileError: unreadable file, not a best_config.yaml, or no trial of that rank.
    """
    p = Path(path)
    fix = "fix: pass the best_config.yaml written by python -m analysis.export"
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigFileError(f"{p} is not a text file; {fix}") from None
    except OSError as e:
        raise ConfigFileError(f"cannot read {p}: {e.strerror or e}; {fix}") from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigFileError(f"{p} is not valid YAML{line}; {fix}") from None
    if not isinstance(doc, dict) or not {STUDY, FAMILY, BEST} <= set(doc) or not isinstance(doc[BEST], dict):
        raise ConfigFileError(f"{p} is not a best_config.yaml (no study/family/best mapping); {fix}")
    entries = [e for e in [doc[BEST], *(doc.get(TOP_K) or [])] if isinstance(e, dict)]
    found = next((e for e in entries if e.get(RANK) == rank), None)
    if found is None or not isinstance(found.get(CONFIG), dict):
        ranks = sorted({e.get(RANK) for e in entries if isinstance(e.get(RANK), int)})
        raise ConfigFileError(f"{p} has no trial of rank {rank}; fix: pass --rank with one of {ranks}")
    return str(doc[STUDY]), str(doc[FAMILY]), dict(found[CONFIG])
