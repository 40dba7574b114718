"""Grid search through Optuna: every combination of the listed values proposed once, in one pass.

Optuna's :class:`~optuna.samplers.GridSampler` gives trial number k the k-th grid point (its
shuffled order), so the first ``len(grid)`` proposals cover the grid exactly once, a resumed study
included (trial numbers persist). It refuses parameters that are not on the grid; a study may still
sample other keys (``--searcher grid --set beta=0.5,1`` on a searched space), so those are drawn by a
seeded random sampler, as Ray Tune's ``grid_search`` draws its non-grid keys at random.
``after_trial`` is not delegated: GridSampler calls ``study.stop()`` there, which raises outside
``study.optimize``; the searcher stops itself after ``len(grid)`` proposals.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping, Sequence

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, GridSampler, RandomSampler
from optuna.trial import FrozenTrial


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    return math.prod(len(v) for v in grid.values()) if grid else 0


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination, as config dicts: ``{"a": [1, 2], "b": ["x"]}`` -> ``[{a: 1, b: x}, {a: 2, b: x}]``."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


class GridSearchSampler(BaseSampler):
    """Grid keys from :class:`GridSampler`, every other parameter from a seeded :class:`RandomSampler`."""

    def __init__(self, grid: Mapping[str, Sequence[Any]], seed: int = 0, random_seed: int | None = None):
        """``seed`` orders the grid (keep it across a resume); ``random_seed`` (default ``seed``) draws the rest."""
        self.grid = {k: list(v) for k, v in grid.items()}
        self._grid = GridSampler(self.grid, seed=seed)
        self._random = RandomSampler(seed=seed if random_seed is None else random_seed)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._grid.before_trial(study, trial)  # trial number k < len(grid) gets grid point k

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        sampler = self._grid if param_name in self.grid else self._random
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    def reseed_rng(self) -> None:
        self._random.reseed_rng()
