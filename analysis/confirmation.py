"""The confirmation, read back from the record: the search's top configurations trained again with
fresh seeds (child runs tagged ``phase=confirm``), as one row per configuration with mean ± sd."""

from __future__ import annotations

import math
import statistics

import pandas as pd

from analysis.record import StudyRecord, Trial
from record import schema as S
from trainables.metric_names import FINAL_METRICS


def table(record: StudyRecord) -> pd.DataFrame:
    """One row per confirmed configuration: search rank and value, seeds, mean and sd of the best validation
    value per seed (and of the test value at that report, and of each final metric measured on the seeds' kept
    checkpoints: ``Family.final_metrics``, none for a family that measures none), ranked by the mean."""
    finals = final_names(record)
    by_trial: dict[str, list[Trial]] = {}
    for t in record.confirmations:
        by_trial.setdefault(t.tags.get(S.CONFIRM_OF, "?"), []).append(t)
    search = {t.trial_id: t for t in record.trials}
    rows = []
    for trial_id, runs in by_trial.items():
        done = [t for t in runs if t.status == S.FINISHED and t.best(record.metric, record.mode) is not None]
        values = [t.best(record.metric, record.mode)[1] for t in done]
        tests = [v for v in (record.test_at_best(t) for t in done) if v is not None]
        origin = search.get(trial_id)
        best = origin.best(record.metric, record.mode) if origin else None
        rows.append({
            "search_rank": int(runs[0].tags.get(S.CONFIRM_RANK, 0)), S.TRIAL_ID: trial_id,
            f"search_{record.metric}": None if best is None else best[1],
            "seeds": ", ".join(t.tags.get(S.CONFIRM_SEED, "?") for t in done), "n_finished": len(done),
            f"{record.metric}_mean": statistics.fmean(values) if values else None,
            f"{record.metric}_sd": statistics.stdev(values) if len(values) > 1 else None,
            f"{record.test_metric}_mean": statistics.fmean(tests) if tests else None,
            f"{record.test_metric}_sd": statistics.stdev(tests) if len(tests) > 1 else None,
            **{f"{name}_{stat}": value for name in finals
               for stat, value in zip(("mean", "sd"), _stats([t.metrics[name] for t in done if name in t.metrics]))},
            **{k: (origin.config.get(k) if origin else None) for k in record.searched},
        })
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values(f"{record.metric}_mean", ascending=record.mode == "min", na_position="last", kind="stable")
    df.insert(0, "confirmed_rank", range(1, len(df) + 1))
    return df.reset_index(drop=True)


def final_names(record: StudyRecord) -> list[str]:
    """The final metrics (``Family.final_metrics``) measured on some confirmation run's kept checkpoint."""
    return [n for n in FINAL_METRICS if any(n in t.metrics for t in record.confirmations)]


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    """(mean, sd) of ``values``; None where there are too few."""
    return (statistics.fmean(values) if values else None, statistics.stdev(values) if len(values) > 1 else None)


def order_changed(df: pd.DataFrame) -> bool:
    """The mean over seeds orders the configurations differently from the search."""
    ranks = [r for r in df["search_rank"] if r]
    return ranks != sorted(ranks)


def spread_sentence(r: StudyRecord, df: pd.DataFrame) -> str:
    """The gap between the two best means against the median seed-to-seed standard deviation."""
    sds = [v for v in df[f"{r.metric}_sd"] if v is not None and math.isfinite(v)]
    means = [v for v in df[f"{r.metric}_mean"] if v is not None and math.isfinite(v)]
    if len(means) < 2 or not sds:
        return ""
    gap, sd = abs(means[1] - means[0]), statistics.median(sds)
    words = "smaller than" if gap < sd else "larger than"
    return (f"The gap between the two best means ({gap:.4g}) is {words} the median seed-to-seed standard deviation "
            f"({sd:.4g}); a gap smaller than the spread between seeds does not separate two configurations.")
