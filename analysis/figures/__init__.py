"""Figures of an export. ``FIGURES`` maps a model family to the function drawing its sections; the
study-level sections (:mod:`analysis.figures.study`) are drawn for every family.

A family plugs in by adding ``FIGURES["name"] = sections`` where ``sections(ctx) -> list[Section]``.
"""

from __future__ import annotations

from typing import Callable

from analysis.figures import confirm, cyclevae, dann, dann_moons, ddpm, gan, study, vae
from analysis.figures.common import Context
from analysis.items import Section

FIGURES: dict[str, Callable[[Context], list[Section]]] = {
    "vae": vae.sections,
    "gan": gan.sections,
    "dann_moons": dann_moons.sections,
    "dann": dann.sections,
    "cyclevae": cyclevae.sections,
    "ddpm": ddpm.sections,
}


def all_sections(ctx: Context) -> list[Section]:
    """The study sections, the confirmation, then the family's (a family without figures gets a note saying so)."""
    out = study.sections(ctx) + confirm.sections(ctx)
    family = FIGURES.get(ctx.record.family)
    if family is None:
        out.append(Section(f"{ctx.record.family} figures", f"No figures are registered for the "
                           f"{ctx.record.family!r} family (analysis.figures.FIGURES)."))
    else:
        out += family(ctx)
    return out
