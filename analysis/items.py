"""What an export produces, as data: figures, tables and omissions grouped in report sections.

Every figure and table carries a caption saying what was measured and how; a figure that cannot be
drawn is an :class:`Omitted` with the reason, never a placeholder image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Figure:
    path: str  # relative to the export folder, e.g. "figures/study_importance.png"
    title: str
    caption: str


@dataclass(frozen=True)
class Table:
    title: str
    caption: str
    html: str  # a <table> element
    path: str | None = None  # the same table as a file (CSV or JSON), relative to the export folder


@dataclass(frozen=True)
class Omitted:
    title: str
    reason: str


Item = Union[Figure, Table, Omitted]


@dataclass
class Section:
    title: str
    intro: str = ""  # plain text, escaped in the page; `backticks` mark code
    items: list[Item] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        return [i for i in self.items if isinstance(i, Figure)]
