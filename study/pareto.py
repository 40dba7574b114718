"""The Pareto front a multi-objective study prints when its search ends, read back from its MLflow record
(which points count, and their ranks: :mod:`record.objectives`)."""

from __future__ import annotations

from typing import Sequence

from record import reader
from record import schema as S
from record.objectives import Objective, ranked_front, values_at
from record.reader import Outcome
from trainables.metric_names import N_PARAMS


def front(client, outcomes: dict[str, Outcome], objectives: Sequence[Objective]) -> list[tuple[Outcome, dict]]:
    """The front's trials with their values (objectives and test counterparts), ranked 1..K by the first objective."""
    points = []
    for o in outcomes.values():
        if o.status != S.FINISHED or o.best_report is None:  # stopped early: its values are at an earlier budget
            continue
        sizes = reader.history(client, o.run_id, N_PARAMS)
        values = values_at(objectives, o.best_report, _logged(client, o.run_id), sizes[-1][1] if sizes else None)
        if all(values[x.name] is not None for x in objectives):
            points.append((o, values))
    ranked = ranked_front([[v[x.name] for x in objectives] for _, v in points], [x.mode for x in objectives])
    return [points[i] for i in ranked]


def _logged(client, run_id: str):
    """``at(metric, report)``: the value ``run_id`` logged of ``metric`` at ``report`` (None when it did not)."""
    histories: dict[str, dict[int, float]] = {}

    def at(metric: str, report: int) -> float | None:
        if metric not in histories:
            histories[metric] = dict(reader.history(client, run_id, metric))
        return histories[metric].get(report)

    return at


def lines(objectives: Sequence[Objective], ranked: list[tuple[Outcome, dict]], n_finished: int,
          n_stopped: int = 0) -> list[str]:
    """The printed table: one row per point of the front, rank 1 first."""
    names = [n for x in objectives for n in (x.name, x.test_name) if n]
    shown = " and ".join(f"{x.name} ({x.mode})" for x in objectives)
    stopped = (f"; stopped early by ASHA, so not candidates: {n_stopped} (--scheduler fifo trains every trial to the "
               "end)" if n_stopped else "")
    out = [f"Pareto front of {shown}: {len(ranked)} of {n_finished} finished trials non-dominated{stopped}; ranked by "
           f"{objectives[0].name}; test_* values are reported, never selected on; retrain point K: --from-config "
           "best_config.yaml --rank K after python -m analysis.export"]
    rows = [["rank", "trial", *names, "run"]]
    rows += [[str(k), o.trial_id, *(_fmt(n, v[n]) for n in names), o.run_id] for k, (o, v) in enumerate(ranked, 1)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return out


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{int(value):,}" if name == N_PARAMS else f"{value:.4f}"
