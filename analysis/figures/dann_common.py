"""What the two DANN figure modules share: picking a trial of a kind (DANN, baseline) by the study's
validation metric, its logged numbers at that report, and the family's data."""

from __future__ import annotations

from typing import Any, Callable

from analysis.figures.common import Context
from analysis.record import Trial, typed_config
from trainables import metric_names as M

REPORTED = (M.SOURCE_ACC, M.TARGET_VAL_ACC, M.TARGET_TEST_ACC, M.DOMAIN_ACC)


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
