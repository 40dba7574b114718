"""A multi-objective study's Pareto front from its record: the points ``best_config.yaml`` ranks, and the
report's table of them (which points count, and their ranks: :mod:`record.objectives`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.items import Table
from analysis.record import StudyRecord, Trial, column_header
from record import config_file
from record import schema as S
from record.objectives import ranked_front, values_at


def front(record: StudyRecord) -> list[tuple[Trial, dict[str, float | None]]]:
    """The front's trials with their values (objectives and test counterparts), ranked 1..K by the first objective."""
    first = record.objectives[0]
    points = []
    for t in record.trials:
        best = t.best(first.name, first.mode)
        if t.status != S.FINISHED or best is None:  # stopped early: its values are at an earlier budget
            continue
        values = values_at(record.objectives, best[0], t.at, t.n_params)
        if all(values[o.name] is not None for o in record.objectives):
            points.append((t, values))
    modes = [o.mode for o in record.objectives]
    ranked = ranked_front([[v[o.name] for o in record.objectives] for _, v in points], modes)
    return [points[i] for i in ranked]


def table(record: StudyRecord, doc: dict[str, Any]) -> Table:
    """The front as ``best_config.yaml`` ranks it: rank, trial, run, each objective with its test counterpart."""
    names = [n for o in record.objectives for n in (o.name, o.test_name) if n]
    rows = [{"rank": e[config_file.RANK], S.TRIAL_ID: e[S.TRIAL_ID], **{n: e[config_file.OBJECTIVES].get(n) for n in names},
             "run_id": e["run_id"]} for e in doc[config_file.TOP_K]]
    df = pd.DataFrame(rows).rename(columns=lambda c: column_header(record, c))
    html = df.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.6g}", border=0, escape=True)
    shown = " and ".join(f"{o.name} ({o.mode})" for o in record.objectives)
    finished = sum(t.status == S.FINISHED for t in record.trials)
    caption = (f"The Pareto front of {shown}: the {len(rows)} of {finished} finished trials no other finished trial "
               f"beats in every objective, ranked 1..{len(rows)} by {record.objectives[0].name} (the first objective, "
               "which ASHA and the kept checkpoint read). Each value is at the report where the first objective was "
               "best; test_* columns are reported, never selected on. A trial ASHA stopped early is not a candidate "
               "(its values are at an earlier budget). python -m study.run --from-config best_config.yaml --rank K "
               "trains point K again.")
    return Table("Pareto front", caption, html, "best_config.yaml")
