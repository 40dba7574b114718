"""What the two DANN figure modules share: picking a trial of a kind (DANN, baseline) by the study's
validation metric, its logged numbers at that report, the family's data, and the table of what the
label-free criterion and the labelled-target oracle would each choose among the study's trials."""

from __future__ import annotations

from typing import Any, Callable

from analysis.figures.common import Context, html_table
from analysis.items import Omitted, Table
from analysis.record import Trial, typed_config
from record import schema as S
from trainables import metric_names as M

REPORTED = (M.SOURCE_ACC, M.VAL_DEV_RISK, M.TARGET_VAL_ACC, M.TARGET_TEST_ACC, M.DOMAIN_ACC)
LABEL_FREE = (M.VAL_DEV_RISK, "min")  # the default studies' criterion: no target label read
ORACLE = (M.TARGET_VAL_ACC, "max")  # reads the labelled target validation split
Kind = tuple[str, Callable[[dict[str, Any]], bool]]  # (label, predicate on a trial's config)


def best_of(ctx: Context, kind: Callable[[dict[str, Any]], bool]) -> Trial | None:
    """The trial of a kind (a predicate on its config) with the best validation metric, or None."""
    return next((t for t in ctx.record.scored() if kind(t.config)), None)


def chosen(ctx: Context, t: Trial) -> dict[str, Any]:
    """The report the study metric chose in ``t`` (the one its best checkpoint holds) and the numbers
    logged there: ``{"report": k, "source_acc": ..., "target_val_acc": ..., ...}``."""
    report, _ = t.best(ctx.record.metric, ctx.record.mode)
    return {"report": report, **{m: t.at(m, report) for m in REPORTED}}


def family_data(ctx: Context):
    """The study's data, loaded as the study loaded it: the family's ``load_data`` on its fixed values."""
    key = ("family_data",)
    if key not in ctx._cache:
        from trainables.families import FAMILIES

        family = ctx.record.family
        ctx._cache[key] = FAMILIES[family].load_data(typed_config(ctx.record.fixed, family), ctx.data_root)
    return ctx._cache[key]


def describe(t: Trial, keys: tuple[str, ...]) -> str:
    values = ", ".join(f"{k}={t.config[k]:.4g}" if isinstance(t.config.get(k), float) else f"{k}={t.config.get(k)}"
                       for k in keys if k in t.config)
    status = t.status.replace("_", " ")
    return f"trial {t.trial_id} (run `{t.run_id}`, {status}, {t.epochs} reports; {values})"


def chosen_by(trials: list[Trial], metric: str, mode: str) -> tuple[Trial, int] | None:
    """The ``(trial, report)`` with the best logged ``metric`` (``mode`` min or max) over every report of
    ``trials``: the checkpoint a study selecting on ``metric`` keeps; None when none logged it."""
    points = [(t, *p) for t in trials if (p := t.best(metric, mode)) is not None]
    if not points:
        return None
    t, report, _ = (min if mode == "min" else max)(points, key=lambda q: q[2])
    return t, report


def criteria_rows(trials: list[Trial], kinds: list[Kind]) -> list[dict[str, Any]]:
    """Per kind of trial (all of them first), the target test accuracy of the checkpoint the label-free
    criterion (``val_dev_risk``) chooses beside the one the oracle (``target_val_acc``) chooses, from
    the trials' logged metrics; the last column is the oracle's advantage in accuracy points."""
    rows = []
    for label, kind in [("all trials", lambda c: True), *kinds]:
        group = [t for t in trials if t.status in S.TRAINED and kind(t.config)]
        free, oracle = chosen_by(group, *LABEL_FREE), chosen_by(group, *ORACLE)
        if free is None and oracle is None:
            continue
        test = [None if c is None else c[0].at(M.TARGET_TEST_ACC, c[1]) for c in (free, oracle)]
        rows.append({
            "trials": f"{label} ({len(group)})",
            f"chosen by {M.VAL_DEV_RISK} (no target labels)": _where(free),
            "its target test acc": test[0],
            f"chosen by {M.TARGET_VAL_ACC} (oracle)": _where(oracle),
            "its target test acc (oracle)": test[1],
            "oracle advantage (points)": None if None in test else 100.0 * (test[1] - test[0]),
        })
    return rows


def _where(choice: tuple[Trial, int] | None) -> str:
    return "-" if choice is None else f"trial {choice[0].trial_id}, report {choice[1]}"


def criteria_table(ctx: Context, kinds: list[Kind]) -> Table | Omitted:
    """:func:`criteria_rows` of the study's trials as a report table."""
    title = "Chosen without target labels and by the oracle: target test accuracy"
    rows = criteria_rows(ctx.record.trials, kinds)
    if not rows:
        return Omitted(title, f"no successful trial logged {M.VAL_DEV_RISK} or {M.TARGET_VAL_ACC}")
    caption = (f"Among the same trials, the checkpoint (trial and report) with the lowest {M.VAL_DEV_RISK} (deep "
               "embedded validation, You et al. 2019: importance-weighted source validation error, no target label "
               f"read) and the one with the highest {M.TARGET_VAL_ACC} (accuracy on the labelled target validation "
               f"split: the oracle protocol unsupervised adaptation is meant to avoid), each with its logged "
               f"{M.TARGET_TEST_ACC} at that report. Oracle advantage: the oracle's choice minus the label-free "
               f"one, in accuracy points; it is what target labels would buy. This study selected on {ctx.record.metric}. "
               "Computed from the logged metrics, nothing retrained; ASHA stopped trials by the study's own metric, "
               "so the oracle chooses among the trials as they ran.")
    return Table(title, caption, html_table(rows))
