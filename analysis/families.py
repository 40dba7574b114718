"""Per-family analysis, registered in one place: ``ANALYSES`` maps a family's name to its
:class:`analysis.figures.family.FamilyAnalysis`.

Each family named in ``MODULES`` has a module ``analysis/figures/<family>.py`` that defines its ``ANALYSIS``:
its report sections and what it adds to ``--compare``. Adding a family adds that module and one line here;
a family without one gets the study-level sections and a note saying so.
"""

from __future__ import annotations

from importlib import import_module

from analysis.figures.family import FamilyAnalysis

MODULES = (  # one line per family: analysis/figures/<family>.py defines ANALYSIS
    "vae",
    "gan",
    "dann_moons",
    "dann",
    "cyclevae",
    "ddpm",
)

ANALYSES: dict[str, FamilyAnalysis] = {m: import_module(f"analysis.figures.{m}").ANALYSIS for m in MODULES}
