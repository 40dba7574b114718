"""The leaderboard: one row per trial, ranked by its best value and at equal budgets (ASHA rungs).

ASHA stops weak trials early, so a stopped trial's last value is an early value: comparing it with a
finished trial's last value mixes budgets. Every row therefore also carries the study metric at each
ASHA rung (after the same number of reports) and the trial's rank among those that reached it.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis import confirmation
from analysis.record import StudyRecord, Trial
from record import schema as S
from trainables.metric_names import FINAL_METRICS, STANDARD_ERROR_OF


def asha_rungs(grace_period: int | None, reduction_factor: int | None, max_reports: int) -> list[int]:
    """ASHA's milestones in reports, as Ray's ``ASHAScheduler`` builds them (max_t included).

    ``grace_period=1, reduction_factor=2, max_reports=4`` -> ``[1, 2, 4]``.
    """
    if not grace_period or not reduction_factor or reduction_factor < 2 or max_reports < 1:
        return [max_reports] if max_reports else []
    grace = min(grace_period, max_reports)
    n = int(math.log(max_reports / grace) / math.log(reduction_factor) + 1)  # Ray's MAX_RUNGS (bracket s=0)
    rungs = sorted({grace * reduction_factor**k for k in range(n)} | {max_reports})
    return [r for r in rungs if r <= max_reports]


def rung_reached(trial: Trial, rungs: list[int]) -> int | None:
    """Index (0 = the first) of the highest rung ``trial`` reached, or None before the first."""
    reached = [i for i, r in enumerate(rungs) if trial.epochs >= r]
    return reached[-1] if reached else None


def status_text(trial: Trial, rungs: list[int]) -> str:
    """``finished``, ``stopped early by ASHA at rung 2 of 3 (report 2)``, ``failed (diverged)`` ..."""
    if trial.status == S.STOPPED_EARLY:
        i = rung_reached(trial, rungs)
        where = f"at rung {i + 1} of {len(rungs)} " if i is not None and rungs[i] == trial.epochs else ""
        return f"stopped early by ASHA {where}(report {trial.epochs})"
    if trial.status == S.FAILED:
        return f"failed ({trial.failure_reason or 'error'})"
    if trial.status == S.REJECTED_CAP:
        return "rejected by the parameter cap"
    return trial.status


def build(record: StudyRecord) -> pd.DataFrame:
    """Every trial as one row: ids, status, budget, metric (final, best, at each rung), its test
    counterpart at the best report and at the end, the split the ranking used, params, error.

    Rows are sorted by rank (best value of the study's validation metric; trials without one last).
    """
    metric, mode = record.metric, record.mode
    rungs = asha_rungs(record.grace_period, record.reduction_factor, record.max_reports)
    rows = []
    final_names = final_metric_names(record)
    for t in record.trials:
        best = t.best(metric, mode)
        series = t.series(metric)
        row = {
            S.TRIAL_ID: t.trial_id, "run_id": t.run_id, S.STATUS: t.status, "status_detail": status_text(t, rungs),
            "asha_rung": None if rung_reached(t, rungs) is None else rung_reached(t, rungs) + 1,
            S.REPORTS_RUN: t.epochs, "n_params": t.n_params,
            f"{metric}_final": series[-1][1] if series else None,
            f"{metric}_best": None if best is None else best[1],
            f"{metric}_best_report": None if best is None else best[0],
        }
        if record.test_metric != metric:  # the test number of the kept checkpoint, beside the validation one
            test = t.series(record.test_metric)
            row[f"{record.test_metric}_at_best"] = record.test_at_best(t)
            row[f"{record.test_metric}_final"] = test[-1][1] if test else None
        row["selected_on"] = "test (recorded before the validation split)" if record.selected_on_test else "val"
        for r in rungs:
            row[f"{metric}@{r}"] = t.at(metric, r)
        row.update({name: t.metrics.get(name) for name in final_names})
        row.update({S.ERROR: t.error, **{k: t.config.get(k) for k in _param_order(record)}})
        rows.append(row)
    df = pd.DataFrame(rows)
    _add_confirmation(df, record)
    ascending = mode == "min"
    df.insert(0, "rank", df[f"{metric}_best"].rank(ascending=ascending, method="min").astype("Int64"))
    for r in rungs:
        col = f"{metric}@{r}"
        df.insert(df.columns.get_loc(col) + 1, f"rank@{r}", df[col].rank(ascending=ascending, method="min").astype("Int64"))
    return df.sort_values(["rank", S.TRIAL_ID], na_position="last", kind="stable").reset_index(drop=True)


def final_metric_names(record: StudyRecord) -> list[str]:
    """The metrics measured once on a kept checkpoint when the study ended (``Family.final_metrics``: the VAE's
    importance-weighted NLL) that some trial of ``record`` holds."""
    return [n for n in FINAL_METRICS if any(n in t.metrics for t in record.trials)]


def _add_confirmation(df: pd.DataFrame, record: StudyRecord) -> None:
    """For the trials the study confirmed: the mean and sd over fresh seeds, and their rank by that mean; beside
    them the same of each final estimate measured on the seeds' kept checkpoints (their standard errors within a
    run are in the confirmation table)."""
    if not record.confirmations:
        return
    confirmed = confirmation.table(record).set_index(S.TRIAL_ID)
    df["confirmed_rank"] = df[S.TRIAL_ID].map(confirmed["confirmed_rank"])
    for name in [record.metric, *confirmed_estimates(record)]:
        for stat in ("mean", "sd"):
            df[f"{name}_confirm_{stat}"] = df[S.TRIAL_ID].map(confirmed[f"{name}_{stat}"])


def confirmed_estimates(record: StudyRecord) -> list[str]:
    """The final estimates (not their standard errors) that the leaderboard shows over the confirmation's seeds."""
    return [n for n in confirmation.final_names(record) if n not in STANDARD_ERROR_OF.values()]


def _param_order(record: StudyRecord) -> list[str]:
    """Searched keys first, then every other config key."""
    keys = sorted({k for t in record.trials for k in t.config})
    searched = record.searched
    return searched + [k for k in keys if k not in searched]


def equal_budget_columns(df: pd.DataFrame, metric: str) -> list[str]:
    """The ``metric@R`` columns of a leaderboard, in rung order."""
    return [c for c in df.columns if c.startswith(f"{metric}@")]
