"""What every family's config shares: a frozen dataclass of flat snake_case keys (the ``--set`` keys and
the MLflow params), and how many reports a trial makes."""

from __future__ import annotations

from dataclasses import asdict, fields


class FlatConfig:
    """Mixed into each family's config dataclass (``VAEConfig(FlatConfig)``)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @property
    def n_reports(self) -> int:
        """Reports a trial makes, ASHA's time unit: one per epoch unless the family reports more often
        (``reports_per_epoch``). Keys that set it are never searched: every trial of a study makes as many."""
        return self.max_epochs * getattr(self, "reports_per_epoch", 1)
