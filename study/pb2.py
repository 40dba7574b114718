"""Population Based Bandits (``--scheduler pb2``; Parker-Holder et al. 2020, Ray Tune's ``PB2``).

PB2 exploits as PBT does (:mod:`study.pbt`: synchronous, the bottom quarter copies the top quarter's checkpoints
every ``interval`` reports) and explores differently: a Gaussian process fitted on every trial's
(report, metric before, values) -> change of the metric per report, and a UCB bandit on it, choose the copied
trial's new values, where PBT perturbs them at random. Ray's PB2 needs scikit-learn only (no GPy).

What genstudy changes in Ray's PB2:

* The synchronous behaviour of :class:`study.pbt.Synchronous` (no perturbation at the last report; a resumed
  population meets again after its restored reports).
* The Gaussian process works in the search space's own coordinates (:func:`bounds`): a log-scale key (a learning
  rate) as its log10, where Ray's would spread 1e-5..1e-2 linearly and hardly ever choose below 1e-3; an integer key
  over ``[low, high + 1)``, since Ray casts a new value to int by truncation (so each integer gets the same width).
* :class:`study.pbt.Explore` then clips, rounds and checks the new values, as under PBT.

Ray's PB2 keeps its data in the driver only: after ``--resume``, exploits copy the donor's values unchanged until
the population has made a report since the restart (no change of the metric to fit yet). Likewise the first
exploit of a study: every trial has one report, and a change needs two.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping

import numpy as np
from ray.tune.schedulers.pb2 import PB2, _explore
from ray.tune.utils.util import flatten_dict, unflatten_dict
from sklearn.exceptions import ConvergenceWarning

from search_spaces import Mutation
from study.pbt import Explore, Synchronous


class SynchronousPB2(Synchronous, PB2):
    """Ray's PB2 in synchronous mode (:class:`study.pbt.Synchronous`), its Gaussian process in the search space's
    coordinates: ``self.data``, ``self.current`` and the bounds hold a log-scale key as log10(value); trials'
    configurations hold the values themselves. Then :class:`Explore` clips, rounds and checks the result."""

    def __init__(self, max_t: int, mutations: Mapping[str, Mutation], config_cls: type, **kwargs: Any):
        self._mutations = dict(mutations)
        self._log = tuple(k for k, m in mutations.items() if m.log)
        super().__init__(max_t, hyperparam_bounds={k: bounds(m) for k, m in mutations.items()},
                         custom_explore_fn=Explore(mutations, config_cls), **kwargs)

    def _to_search(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Ray casts a new value to the type of the donor's: a log-scale key's is a float (Explore rounds an integer
        one), another integer key's an int, any other a float."""
        return {**config, **{k: math.log10(config[k]) if m.log else int(config[k]) if m.integer else float(config[k])
                             for k, m in self._mutations.items()}}

    def _from_search(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return {**config, **{k: 10.0 ** float(config[k]) for k in self._log}}

    def _save_trial_state(self, state, time: int, result: dict, trial) -> float:
        score = super()._save_trial_state(state, time, result, trial)  # appends a row of the trial's values
        for key in self._log:
            self.data.loc[self.data.index[-1], key] = math.log10(self.data[key].iloc[-1])
        return score

    def _get_new_config(self, trial, trial_to_clone) -> tuple[dict, dict]:
        """Ray's ``PB2._get_new_config`` with the donor's values in search coordinates and the new ones mapped back."""
        if self.data["Time"].max() > self.last_exploration_time:  # a new sync point: no trial restarted in it yet
            self.current = None
        new_flat, self.data = _explore(self.data, self._hyperparam_bounds_flat, self.current, trial_to_clone, trial,
                                       self._to_search(flatten_dict(trial_to_clone.config)))
        new = np.array([[new_flat[key] for key in self._hyperparam_bounds_flat]])
        if self.data["Time"].max() > self.last_exploration_time:
            self.last_exploration_time = self.data["Time"].max()
            self.current = new.copy()
        else:  # the trials restarted at this sync point so far: the GP keeps the next choice away from them
            self.current = np.concatenate((self.current, new), axis=0)
        return self._custom_explore_fn(unflatten_dict(self._from_search(new_flat))), {}


def bounds(m: Mutation) -> tuple[float, float]:
    """PB2's range for ``m`` in search coordinates: log10 for a log-scale key; ``[low, high + 1)`` for an integer
    key, which Ray casts to int by truncation (the top end, reached only exactly, is clipped back by Explore)."""
    if m.log:
        return math.log10(m.low), math.log10(m.high)
    return (m.low, m.high + 1) if m.integer else (m.low, m.high)


def scheduler(mutations: Mapping[str, Mutation], config_cls: type, max_t: int, seed: int,
              **kwargs: Any) -> SynchronousPB2:
    np.random.seed(seed)  # PB2's acquisition starts its optimiser from numpy's global random
    # the GP is refitted at each exploit on a handful of points: scikit-learn's convergence warnings would fill the
    # progress view and say nothing a user can act on
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    return SynchronousPB2(max_t, mutations, config_cls, **kwargs)
