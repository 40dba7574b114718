"""The ``Study`` and ``Profile`` records, and the sampler handed to define-by-run spaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from record.references import Reference
from trainables.metric_names import is_selection_metric, test_counterpart

DEFAULT_PARAM_CAP = 25_000_000


@dataclass(frozen=True)
class Profile:
    """How much of a study to run: trial count, epochs, ASHA rungs and fixed settings."""

    num_samples: int  # configurations proposed (those over the cap count and are not trained)
    max_epochs: int  # training length; ASHA counts reports (one per epoch for VAEs)
    grace_period: int  # ASHA: reports (epochs for VAEs) before a trial may be stopped
    reduction_factor: int = 3  # ASHA: keep the top 1/rf at each rung
    max_concurrent: int = 2
    cpus_per_trial: float = 1.0
    fixed: Mapping[str, Any] = field(default_factory=dict)  # config values set for this profile
    ranges: Mapping[str, Any] = field(default_factory=dict)  # narrower (low, high) or choices per key
    use_baseline: bool = True  # evaluate the study's baseline point first
    confirm: int = 0  # after the search, train its top N configurations again (0: no confirmation)
    confirm_seeds: int = 3  # fresh seeds per confirmed configuration


@dataclass(frozen=True)
class Mutation:
    """How population-based training may change a config key during training (``--scheduler pbt``):
    multiplied by 0.8 or 1.2, or with probability 1/4 drawn afresh from [low, high] (log-uniform with
    ``log``), then clipped to [low, high]; ``integer`` values are rounded."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.log and self.low <= 0):
            raise ValueError(f"a mutation needs low < high (and low > 0 when log), got [{self.low}, {self.high}]")


@dataclass(frozen=True)
class Study:
    """A named question: what to train, what to optimise, over which space, with which budgets.

    ``metric`` is what the searcher, the scheduler, checkpoint scoring and the choice of the best trial
    read: it must be computed on a validation split. ``test_metric`` is its test-split counterpart,
    shown beside it in every summary and never selected on (default: ``metric`` with ``val_`` -> ``test_``).
    """

    name: str
    description: str
    family: str  # trainable family: a key of trainables.families.FAMILIES
    metric: str
    mode: str  # "min" | "max"
    space: Callable[["Params"], dict[str, Any]]  # define-by-run: samples, returns constants
    profiles: Mapping[str, Profile]
    fixed: Mapping[str, Any] = field(default_factory=dict)  # values every trial shares
    # known-good points evaluated first (Optuna's enqueue_trial), in Optuna parameter names
    baseline: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    param_cap: int = DEFAULT_PARAM_CAP
    test_metric: str = ""
    # a grid study: config key -> the values every combination of which is trained once (``--searcher grid``)
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    # published numbers shown beside the study's own in comparison tables (``analysis.export --compare``)
    references: Sequence["Reference"] = ()
    run_name_keys: tuple[str, ...] = ()  # config keys shown in each trial's MLflow run name (default: 3 searched)
    # keys population-based training may change while a trial trains (learning rates, regularisers; never
    # the architecture, which the weights depend on): --scheduler pbt needs at least one
    mutations: Mapping[str, Mutation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_selection_metric(self.metric):
            raise ValueError(f"study {self.name!r} optimises {self.metric!r}: a study selects on a validation "
                             "metric (val_*), never on the test set")
        if self.mode not in ("min", "max"):
            raise ValueError(f"study {self.name!r}: mode must be 'min' or 'max', got {self.mode!r}")
        if not self.test_metric:
            object.__setattr__(self, "test_metric", test_counterpart(self.metric))
        if set(self.grid) & set(self.fixed):
            raise ValueError(f"study {self.name!r}: {sorted(set(self.grid) & set(self.fixed))} are both fixed and on the grid")

    @property
    def default_searcher(self) -> str:
        return "grid" if self.grid else "tpe"

    @property
    def baselines(self) -> list[Mapping[str, Any]]:
        if self.baseline is None:
            return []
        return [self.baseline] if isinstance(self.baseline, Mapping) else list(self.baseline)


class Params:
    """Wraps an Optuna trial for a space function; fixed keys are returned, not sampled.

    ``p.float("beta", 0.0, 8.0)`` samples unless ``beta`` was fixed (``--set beta=1``); a profile
    may narrow a range (``ranges={"width": (64, 256)}``). ``variant`` gives a parameter a distinct
    Optuna name where its range depends on an earlier choice (``width[conv]``); fixing and
    narrowing still use the config key. A key on the ``grid`` takes one of its listed values, under
    its config key's name (``--searcher grid`` enumerates them).
    """

    def __init__(self, trial, fixed: Mapping[str, Any] | None = None, ranges: Mapping[str, Any] | None = None,
                 grid: Mapping[str, Sequence[Any]] | None = None):
        self.trial = trial
        self.fixed = MappingProxyType(dict(fixed or {}))
        self.ranges = MappingProxyType(dict(ranges or {}))
        self.grid = MappingProxyType(dict(grid or {}))

    def _given(self, key: str) -> tuple[bool, Any]:
        """(True, value) when ``key`` is fixed or on the grid, else (False, None): then it is sampled."""
        if key in self.fixed:
            return True, self.fixed[key]
        if key in self.grid:
            return True, self.trial.suggest_categorical(key, list(self.grid[key]))
        return False, None

    def _name(self, key: str, variant: str | None) -> str:
        return key if variant is None else f"{key}[{variant}]"

    def _range(self, key: str, variant: str | None, default):
        return self.ranges.get(self._name(key, variant), self.ranges.get(key, default))

    def float(self, key: str, low: float, high: float, log: bool = False, sqrt: bool = False,
              variant: str | None = None) -> float:
        """Uniform (or log-uniform) in [low, high]; ``sqrt``: uniform in sqrt space, so more mass near low."""
        given, value = self._given(key)
        if given:
            return value
        low, high = self._range(key, variant, (low, high))
        name = self._name(key, variant)
        if sqrt:
            return self.trial.suggest_float(f"sqrt({name})", low**0.5, high**0.5) ** 2
        return self.trial.suggest_float(name, low, high, log=log)

    def int(self, key: str, low: int, high: int, log: bool = False, variant: str | None = None) -> int:
        given, value = self._given(key)
        if given:
            return value
        low, high = self._range(key, variant, (low, high))
        return self.trial.suggest_int(self._name(key, variant), low, high, log=log)

    def categorical(self, key: str, choices: Sequence[Any], variant: str | None = None) -> Any:
        given, value = self._given(key)
        if given:
            return value
        return self.trial.suggest_categorical(self._name(key, variant), list(self._range(key, variant, choices)))


def sample_space(space: Callable[[Params], dict[str, Any]], trial, fixed: Mapping[str, Any] | None = None,
                 ranges: Mapping[str, Any] | None = None, grid: Mapping[str, Sequence[Any]] | None = None) -> dict:
    """Run the define-by-run ``space`` on ``trial``. Grid keys the space did not ask for (a key it asks
    for only in some branches, sets to a constant, or never reads) are drawn too, so every trial holds
    its whole grid point."""
    sampled = space(Params(trial, fixed, ranges, grid))
    for key, values in (grid or {}).items():
        if key not in trial.params:
            sampled[key] = trial.suggest_categorical(key, list(values))
    return sampled
