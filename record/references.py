"""Published numbers a study compares itself with: defined with the study, logged on its parent run
(``references.json``), read back by the analysis. Shown beside ours, never used to choose anything."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Reference:
    """A number a course or paper reports for one setting, shown beside ours (never used to select).

    ``where`` names the setting (config key -> value); the reference holds for a trial whose config
    matches it. ``bound`` is an upper bound (``metric < bound``) when ``upper`` is true, else a lower one.
    """

    where: Mapping[str, Any]
    metric: str
    bound: float
    source: str  # who reports it, on which split
    upper: bool = True

    def matches(self, config: Mapping[str, Any]) -> bool:
        return all(_same(config.get(k), v) for k, v in self.where.items())

    def met(self, value: float) -> bool:
        return value < self.bound if self.upper else value > self.bound

    def text(self) -> str:
        setting = ", ".join(f"{k}={v}" for k, v in self.where.items())
        return f"{self.metric} {'<' if self.upper else '>'} {self.bound:g} at {setting} ({self.source})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "where": dict(self.where)}

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> "Reference":
        return cls(where=dict(row["where"]), metric=row["metric"], bound=float(row["bound"]), source=row["source"],
                   upper=bool(row.get("upper", True)))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return a == b
