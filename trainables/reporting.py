"""How a family's training loop reports: the one ``Report`` type and the one checkpoint writer.

A loop calls its :class:`Reporter` once per report with the report's index (from 1), its metrics, the
model to keep and the trainer state to resume from. Every family's checkpoint is written the same way:
a folder ``report_0001``, ``report_0002`` ... holding ``model.safetensors``, ``config.json`` (the
config, and the family's name and unit, injected by the registry, with the report's index and metrics)
and ``trainer_state.pt``, plus whatever image grids the loop draws into it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from trainables.checkpoint import FAMILY_KEY, METRICS_KEY, REPORT_KEY, UNIT_KEY, save_config, save_model, save_state

Report = Callable[[dict[str, float], "str | None"], None]  # report(metrics, checkpoint_dir): Tune's, or a test's
FOLDER = "report_{:04d}"

if TYPE_CHECKING:
    from torch import nn


class Reporter:
    """Writes a report's checkpoint and hands it to ``report``; a context manager over the folder.

    Args:
        family: the family's registered name, written into every checkpoint.
        unit: what one report is, ``"epoch"`` or ``"report"`` (:attr:`trainables.families.Family.unit`).
        report: called as ``report(metrics, checkpoint_dir)`` once the checkpoint is written.
        workdir: where the checkpoints are written and kept; by default a temporary folder whose
            checkpoints are deleted once reported (Tune has copied them).
    """

    def __init__(self, family: str, unit: str, report: Report, workdir: str | Path | None = None):
        self.family, self.unit, self.report = family, unit, report
        self.workdir = None if workdir is None else Path(workdir)
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "Reporter":
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="genstudy-ckpt-")
        return self

    def __exit__(self, *exc) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def root(self) -> Path:
        if self.workdir is not None:
            return self.workdir
        if self._tmp is None:
            raise RuntimeError("a Reporter without a workdir writes inside its `with` block")
        return Path(self._tmp.name)

    def __call__(self, k: int, metrics: dict[str, float], model: nn.Module, config: dict[str, Any],
                 state: dict[str, Any], meta: dict[str, Any] | None = None,
                 draw: Callable[[Path], None] | None = None) -> None:
        """Write report ``k``'s checkpoint, let ``draw`` add its image grids, and report it.

        Args:
            model: the module whose weights are kept (the scored one: an EMA where a family keeps one).
            config: the trial's config as a dict (its dataclass' ``to_dict()``).
            state: what resuming needs besides the weights (optimisers, counters, RNG states).
            meta: more of the family's keys for ``config.json`` (e.g. ``image_shape``).
        """
        folder = self.root / FOLDER.format(k)
        save_model(folder, model, config, self._meta(k, metrics, meta))
        save_state(folder, state)
        if draw is not None:
            draw(folder)
        self._report(metrics, folder)

    def without_weights(self, k: int, metrics: dict[str, float], config: dict[str, Any]) -> None:
        """Report ``k`` with a checkpoint of ``config.json`` alone: a family with no model to keep (the scale
        benchmark's), whose report index is all it needs to resume."""
        folder = self.root / FOLDER.format(k)
        save_config(folder, config, self._meta(k, metrics, None))
        self._report(metrics, folder)

    def _meta(self, k: int, metrics: dict[str, float], meta: dict[str, Any] | None) -> dict[str, Any]:
        return {FAMILY_KEY: self.family, UNIT_KEY: self.unit, REPORT_KEY: k, METRICS_KEY: metrics, **(meta or {})}

    def _report(self, metrics: dict[str, float], folder: Path) -> None:
        self.report(metrics, str(folder))
        if self.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)  # Tune copied it on report
