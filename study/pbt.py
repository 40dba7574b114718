"""Population-based training (``--scheduler pbt`` and ``pb2``): Ray Tune's synchronous PBT, or its Population
Based Bandits (PB2), over a study's declared mutations.

How genstudy uses Ray's ``PopulationBasedTraining`` (Jaderberg et al. 2017; Ray's ``pbt_dcgan_mnist`` example):

* The population is drawn once, at random, by the study's own searcher (:func:`population`: the parameter cap
  and the study's baselines apply as in any search), and handed to Tune as fixed points: Ray's PBT takes no
  search algorithm. A resumed study draws the same population again (same seed) for its summary.
* Synchronous mode: every ``interval`` reports the whole population waits, the bottom quarter copies the top
  quarter's checkpoints (exploit) and changes the declared keys (explore: :class:`Explore`). All trials stop at
  the same report, so a trial that copies another continues from that very report: its history has no report
  twice and none missing.
* No perturbation at the last report (nothing would train after it), and a resumed population meets again at
  the next sync point after the reports its trials restored (Ray's PBT keeps no state across a driver's
  restart): :class:`Synchronous`.
* Only the study's ``mutations`` change (learning rates, regularisers); an exploit copies the donor's whole
  configuration with its weights, architecture included, as PBT does.
* PB2 (``--scheduler pb2``, :mod:`study.pb2`) exploits the same way and chooses the new values with a
  Gaussian-process bandit instead of random perturbation, with the same synchronous behaviour (:class:`Synchronous`).
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Mapping

from ray import tune
from ray.tune.schedulers import PopulationBasedTraining, TrialScheduler

from search_spaces import Mutation

RESAMPLE_PROBABILITY = 0.25  # Ray's default, as in Jaderberg et al.'s "perturb or resample"
QUANTILE = 0.25  # the bottom quarter copies the top quarter (Ray's default)


def interval(max_t: int) -> int:
    """Reports between perturbations: a quarter of a trial's reports, at least one."""
    return max(1, max_t // 4)


class Explore:
    """PBT's explore step after Ray's own (x0.8 / x1.2, or a fresh draw): each mutated value clipped to its
    range and rounded if integer; a value the trial's configuration refuses (e.g. label smoothing under the
    hinge loss) falls back to the config's default for that key."""

    def __init__(self, mutations: Mapping[str, Mutation], config_cls: type):
        self.mutations, self.config_cls = dict(mutations), config_cls

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        out = dict(config)
        for key, m in self.mutations.items():
            value = min(max(float(out[key]), m.low), m.high)
            out[key] = int(round(value)) if m.integer else value
        if self._valid(out):
            return out
        defaults = {f.name: f.default for f in dataclasses.fields(self.config_cls)}
        for key in self.mutations:  # the one value at fault, e.g. label smoothing under hinge: its default
            fixed = {**out, key: defaults[key]}
            if self._valid(fixed):
                return fixed
        return {**out, **{k: defaults[k] for k in self.mutations if defaults[k] is not None}}

    def _valid(self, config: dict[str, Any]) -> bool:
        try:
            self.config_cls(**config)
        except (TypeError, ValueError):
            return False
        return True


class Synchronous:
    """What genstudy adds to Ray's synchronous PBT and PB2: no perturbation at a trial's last report (``max_t``),
    and a restored population that meets again after its restored reports."""

    def __init__(self, max_t: int, **kwargs: Any):
        super().__init__(synch=True, **kwargs)
        self.max_t = max_t

    def on_trial_add(self, tune_controller, trial) -> None:
        """A trial restored by ``--resume`` continues from report ``done``; Ray's PBT saves none of its own state,
        so it would wait for a sync point in the past (at report 1) and never run a paused trial again. The
        restored report is taken as the trial's last perturbation, and the population meets next at the first
        multiple of the interval after the furthest restored trial."""
        super().on_trial_add(tune_controller, trial)
        done = int((trial.last_result or {}).get(self._time_attr, 0))
        if 0 < done < self.max_t:
            state = self._trial_state[trial]
            state.last_train_time = state.last_perturbation_time = done
            step = self._perturbation_interval
            self._next_perturbation_sync = max(self._next_perturbation_sync, (done // step + 1) * step)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        if result.get(self._time_attr, 0) >= self.max_t:
            return TrialScheduler.CONTINUE  # the trial ends here: nothing to copy into, nothing to explore
        return super().on_trial_result(tune_controller, trial, result)


class SynchronousPBT(Synchronous, PopulationBasedTraining):
    """Ray's synchronous PBT, which does not perturb at a trial's last report and resumes (:class:`Synchronous`)."""


def domain(m: Mutation):
    """The Tune distribution a fresh draw of ``m`` comes from."""
    if m.integer:
        return tune.randint(int(m.low), int(m.high) + 1)
    return tune.loguniform(m.low, m.high) if m.log else tune.uniform(m.low, m.high)


def scheduler(kind: str, mutations: Mapping[str, Mutation], config_cls: type, max_t: int,
              seed: int) -> PopulationBasedTraining:
    """``kind`` pbt or pb2, synchronous, perturbing every :func:`interval` reports."""
    random.seed(seed)  # Ray's PBT draws its quantile choices and perturbations from Python's global random
    common = dict(time_attr="training_iteration", perturbation_interval=interval(max_t), quantile_fraction=QUANTILE)
    if kind == "pb2":
        from study import pb2  # pandas and scikit-learn's Gaussian process: only when asked for

        return pb2.scheduler(mutations, config_cls, max_t, seed, **common)
    return SynchronousPBT(max_t, hyperparam_mutations={k: domain(m) for k, m in mutations.items()},
                          resample_probability=RESAMPLE_PROBABILITY, custom_explore_fn=Explore(mutations, config_cls),
                          **common)


def population(searcher, size: int) -> list[dict[str, Any]]:
    """The initial population: the searcher's ``size`` proposals as full configurations, less those over the
    parameter cap (the searcher counts them as rejected). The searcher is not handed to Tune."""
    searcher.set_max_concurrency(size)  # every member exists from the start
    points = []
    for i in range(size):
        config = searcher.suggest(f"member-{i}")
        if not isinstance(config, dict):
            break
        points.append(config)
    return points
