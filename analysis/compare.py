"""Trials side by side by one config key (``analysis.export --compare KEY``): which trials, their
labels, and every logged metric at one equal epoch, with any published reference beside ours.

A trial's "epoch" here is its report number (epochs for VAEs; reports for GANs). Nothing is
retrained; the values are the ones MLflow holds for that report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from analysis.record import StudyRecord, Trial
from record import schema as S

TRAINED = S.TRAINED
MAX_LABEL_KEYS = 2  # other varying keys named in a label; beyond that a trial id tells trials apart
METRIC_ORDER = ("recon", "kl", "nelbo", "loss", "fid", "kid")  # grouped first, train / val / test within each
SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}


class CompareError(Exception):
    """``--compare`` / ``--at-epoch`` cannot be met; ``str(e)`` is one line naming the fix."""


@dataclass(frozen=True)
class Compared:
    trial: Trial
    value: Any  # the trial's value of the compared key
    label: str


def compared(record: StudyRecord, key: str) -> list[Compared]:
    """Every trial that trained (finished, or stopped early) with a value for ``key``, ordered by it.

    Raises:
        CompareError: no trained trial has ``key`` in its config.
    """
    trials = [t for t in record.trials if t.status in TRAINED and key in t.config]
    if not trials:
        keys = sorted({k for t in record.trials for k in t.config})
        raise CompareError(f"--compare {key}: no trained trial of {record.study} has config key {key!r}; fix: one of "
                           f"{', '.join(record.searched or keys)}")
    others = [k for k in record.searched if k != key and len({repr(t.config.get(k)) for t in trials}) > 1]
    out = []
    for t in sorted(trials, key=lambda t: (_sortable(t.config[key]), [_sortable(t.config.get(k)) for k in others],
                                           t.trial_id)):
        parts = [f"{key}={_fmt(t.config[key])}"]
        if len(others) <= MAX_LABEL_KEYS:
            parts += [f"{k}={_fmt(t.config.get(k))}" for k in others]
        else:
            parts.append(f"trial {t.trial_id}")
        out.append(Compared(t, t.config[key], ", ".join(parts)))
    if len({c.label for c in out}) < len(out):  # two trials alike in every named key: name the trial too
        out = [Compared(c.trial, c.value, f"{c.label} (trial {c.trial.trial_id})") for c in out]
    return out


def last_report(trial: Trial, metric: str) -> int:
    points = trial.series(metric)
    return points[-1][0] if points else 0


def equal_epoch(record: StudyRecord, trials: list[Compared], at: int | None) -> int:
    """``at``, or the last report every compared trial reached.

    Raises:
        CompareError: ``at`` < 1, or no compared trial reached it.
    """
    reached = [last_report(c.trial, record.metric) for c in trials]
    if at is None:
        return min(reached)
    if at < 1 or at > max(reached):
        raise CompareError(f"--at-epoch {at}: the compared trials reached epochs {min(reached)} to {max(reached)}; "
                           f"fix: pass a value in 1..{max(reached)} or omit it (default {min(reached)})")
    return at


def metric_columns(trials: list[Compared], epoch: int) -> list[str]:
    """Every metric some compared trial logged at ``epoch``: recon, kl, nelbo, loss, fid, kid (each
    train, val, test), then the rest alphabetically."""
    names = {m for c in trials for m, points in c.trial.history.items() if any(s == epoch for s, _ in points)}

    def order(name: str) -> tuple:
        split, _, base = name.partition("_")
        if split not in SPLIT_ORDER:
            split, base = "", name
        group = METRIC_ORDER.index(base) if base in METRIC_ORDER else len(METRIC_ORDER)
        return group, base, SPLIT_ORDER.get(split, 3)

    return sorted(names, key=order)


def table_rows(record: StudyRecord, trials: list[Compared], epoch: int, references=()) -> list[dict[str, Any]]:
    """One row per compared trial: label, ids, status, epochs, every metric at ``epoch``, and for each
    reference whose setting the trial matches, the reference and whether ours meets it."""
    columns = metric_columns(trials, epoch)
    rows = []
    for c in trials:
        t = c.trial
        row: dict[str, Any] = {"setting": c.label, S.TRIAL_ID: t.trial_id, S.STATUS: t.status, S.REPORTS_RUN: t.epochs,
                               "at_epoch": epoch if last_report(t, record.metric) >= epoch else None}
        row.update({m: t.at(m, epoch) for m in columns})
        matching = [r for r in references if r.matches(t.config)]
        row["reference"] = "; ".join(r.text() for r in matching) or None
        verdicts = [("meets" if r.met(row[r.metric]) else "misses") if _number(row.get(r.metric)) else "not logged"
                    for r in matching]
        row["ours_vs_reference"] = "; ".join(f"{r.metric} {_fmt(row.get(r.metric))}: {v}" for r, v in
                                             zip(matching, verdicts)) or None
        rows.append(row)
    return rows


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _sortable(v: Any) -> tuple:
    return (0, float(v), "") if _number(v) else (1, 0.0, str(v))


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
