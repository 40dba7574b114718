"""Figures of an export: the study-level sections (:mod:`analysis.figures.study`), population-based
training's (:mod:`analysis.figures.pbt`) and the confirmation for every family, then the family's own,
registered in :data:`analysis.families.ANALYSES`."""

from __future__ import annotations

from analysis.figures.common import Context
from analysis.items import Section


def all_sections(ctx: Context) -> list[Section]:
    """The study sections, the confirmation, then the family's (a family without figures gets a note saying so)."""
    from analysis.families import ANALYSES
    from analysis.figures import confirm, pbt, study

    out = study.sections(ctx) + pbt.sections(ctx) + confirm.sections(ctx)
    family = ANALYSES.get(ctx.record.family)
    if family is None:
        out.append(Section(f"{ctx.record.family} figures", f"No figures are registered for the "
                           f"{ctx.record.family!r} family (analysis.families.ANALYSES)."))
    else:
        out += family.sections(ctx)
    return out
