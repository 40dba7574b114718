"""Optuna TPE as a Ray Tune searcher, with the parameter cap kept out of training.

Differences from Ray's ``OptunaSearch``, each for a reason:

* A configuration over the parameter cap is never handed to Tune. It is told to Optuna as
  infeasible (``trial.set_constraint``), so TPE learns to avoid the region, and counted.
* A trial that ASHA stopped early is told to Optuna as PRUNED with its per-epoch values, not as
  COMPLETE with an early (worse) value that TPE would compare with finished trials.
* ``num_samples`` counts proposals, rejected ones included: the search ends after that many.
* It limits concurrency itself (no ``ConcurrencyLimiter``), so its running trials are part of its
  saved state and a resumed study still tells Optuna how they ended.
* ``sampler="grid"`` proposes every point of ``grid`` once (:mod:`study.grid`); the cap applies to
  each point the same way.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import optuna
from ray.tune.search import Searcher

from search_spaces import sample_space
from study.grid import GridSearchSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class Rejection:
    params: dict[str, Any]  # Optuna's parameter names
    n_params: int
    config: dict[str, Any] = field(default_factory=dict)  # the full resolved config


@dataclass
class SearchSettings:
    space: Callable[[Params], dict]
    complete: Callable[[dict], dict]  # sampled values -> the trial's full config
    count_params: Callable[[dict], int]  # full config -> parameter count, nothing allocated
    param_cap: int
    num_samples: int
    max_t: int
    fixed: Mapping[str, Any] = field(default_factory=dict)
    ranges: Mapping[str, Any] = field(default_factory=dict)
    baselines: Sequence[Mapping[str, Any]] = ()
    seed: int = 0
    n_startup_trials: int = 5  # random proposals before TPE models the results
    max_concurrent: int = 2
    sampler: str = "tpe"  # "tpe"; "random": the baseline TPE is measured against; "grid": every point of grid once
    grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)  # config key -> values (sampler "grid")


class CappedTPESearch(Searcher):
    """TPE over a define-by-run space; see the module docstring."""

    def __init__(self, settings: SearchSettings, metric: str, mode: str):
        super().__init__(metric=metric, mode=mode)
        self.s = settings
        if settings.sampler == "random":
            sampler = optuna.samplers.RandomSampler(seed=settings.seed)
        elif settings.sampler == "grid":
            sampler = GridSearchSampler(settings.grid, seed=settings.seed)
        else:
            sampler = optuna.samplers.TPESampler(
                seed=settings.seed, n_startup_trials=settings.n_startup_trials, constant_liar=True)
        direction = "minimize" if mode == "min" else "maximize"
        self.study = optuna.create_study(direction=direction, sampler=sampler)
        for point in settings.baselines:
            self.study.enqueue_trial(dict(point), skip_if_exists=True)
        self.live: dict[str, optuna.trial.Trial] = {}
        self.proposed = 0
        self.rejected: list[Rejection] = []

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self.s.max_concurrent = max_concurrent
        return True  # handled here: Tune must not wrap this searcher in a ConcurrencyLimiter

    def suggest(self, trial_id: str) -> dict | str | None:
        if len(self.live) >= self.s.max_concurrent:
            return None  # ask again when a trial ends
        while self.proposed < self.s.num_samples:
            self.proposed += 1
            trial = self.study.ask()
            config = self.s.complete(sample_space(self.s.space, trial, self.s.fixed, self.s.ranges, self.s.grid))
            n_params = self.s.count_params(config)
            trial.set_user_attr("n_params", n_params)
            trial.set_constraint("param_cap", n_params - self.s.param_cap)  # feasible when <= 0
            if n_params > self.s.param_cap:
                self.rejected.append(Rejection(dict(trial.params), n_params, config))
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                continue
            self.live[trial_id] = trial
            return config
        return Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        trial = self.live.get(trial_id)
        value = result.get(self.metric)
        if trial is not None and _finite(value):
            trial.report(float(value), step=int(result["training_iteration"]))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self.live.pop(trial_id, None)
        if trial is None:
            return
        value = None if result is None else result.get(self.metric)
        if error or not _finite(value):
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif int(result.get("training_iteration", 0)) < self.s.max_t:  # stopped early by ASHA
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, float(value))

    def save(self, checkpoint_path: str) -> None:
        state = {"study": self.study, "proposed": self.proposed, "rejected": self.rejected,
                 "live": {k: t.number for k, t in self.live.items()}}
        with open(checkpoint_path, "wb") as f:
            pickle.dump(state, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        self.study, self.proposed, self.rejected = state["study"], state["proposed"], state["rejected"]
        # Trials that were running when the driver died: Tune resumes them under the same ids.
        self.live = {k: optuna.trial.Trial(self.study, self.study._storage.get_trial_id_from_study_id_trial_number(
            self.study._study_id, n)) for k, n in state["live"].items()}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
