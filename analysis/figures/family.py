"""What a family's analysis is: :class:`FamilyAnalysis`, its report sections and what it adds to the
comparison section (``analysis.export --compare KEY``: panels of curves, a note on its splits, a row of
images per trial). Each family's figure module defines its ``ANALYSIS``; :mod:`analysis.families` registers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from analysis.items import Section

Panel = tuple[str, tuple["str | None", "str | None", "str | None"]]  # (title, (train, val, test) metric names)


@dataclass(frozen=True)
class CompareImages:
    """A family's images in the comparison figure: one row per trial, one strip per column.

    ``strips(model, cfg, x_test, n, seed)`` returns the row's image strips, each ``(n, C, H, W)`` in [0, 1];
    ``x_test`` is ``n`` shared test images (shown as the first row) when ``test_images`` is set, else None.
    """

    title: str
    heads: tuple[str, ...]
    strips: Callable[[nn.Module, Any, "torch.Tensor | None", int, int], tuple[torch.Tensor, ...]]
    test_images: bool = False
    note: str = ""


DEFAULT_SPLIT_NOTE = "val_* is what the study selects on, test_* is reported only"


@dataclass(frozen=True)
class FamilyAnalysis:
    sections: Callable[[Any], list[Section]]  # (analysis.figures.common.Context) -> the family's report sections
    compare_panels: tuple[Panel, ...] = ()
    split_note: str = DEFAULT_SPLIT_NOTE
    compare_images: CompareImages | None = None
