"""Building the Tuners: the search's (TPE searcher, ASHA scheduler) and the confirmation's (fixed
configurations, no early stopping); resources, checkpoints, failure policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ray import tune
from ray.tune.logger import JsonLoggerCallback
from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, PopulationBasedTraining, TrialScheduler
from ray.tune.search import BasicVariantGenerator, SearchAlgorithm, Searcher

from record import schema as S
from study import actor_reuse, pbt, storage
from study.resolve import Resolved
from study.searcher import CappedTPESearch, SearchSettings
from study.trainable import run_trial
from trainables.data import SplitData


@dataclass(frozen=True)
class Resources:
    cpus_per_trial: float
    gpus_per_trial: float


def make_searcher(r: Resolved) -> CappedTPESearch:
    settings = SearchSettings(
        space=r.study.space, complete=r.complete, count_params=r.n_params, param_cap=r.param_cap,
        num_samples=r.num_samples, max_t=r.max_t, fixed=r.fixed, ranges=r.profile.ranges,
        baselines=r.study.baselines if r.profile.use_baseline and r.searcher != "grid" else (), seed=r.seed,
        # a third of the proposals random before TPE models them (was at most 5): 16 of ASHA's 48 in the search
        # benchmark, which then met both targets (BENCHMARKS.md section 3, benchmarks/ANALYSIS.md)
        n_startup_trials=max(1, r.num_samples // 3), max_concurrent=r.max_concurrent,
        sampler=r.searcher, grid=r.grid, objectives=r.objectives)
    return CappedTPESearch(settings, metric=r.study.metric, mode=r.study.mode)


def make_trainable(r: Resolved, data: SplitData, assets: dict, resources: Resources,
                   ended: dict[str, dict] | None = None):
    return tune.with_resources(  # data and assets go into the object store once, not once per trial
        tune.with_parameters(run_trial, family=r.family.name, data=data, assets=assets, metric=r.study.metric,
                             ended=ended),
        {"cpu": resources.cpus_per_trial, "gpu": resources.gpus_per_trial})


HYPERBAND_BRACKETS = 3  # --scheduler hyperband: ASHA's brackets, each first stopping trials rf times later


def make_scheduler(r: Resolved, fifo: bool = False) -> TrialScheduler:
    """``r``'s scheduler: asha (one bracket), hyperband (Ray's asynchronous variant, several brackets), pbt or pb2
    (:mod:`study.pbt`) or fifo; with ``fifo``, one whose every trial trains to the end."""
    if fifo or r.scheduler == "fifo":
        return FIFOScheduler()  # every trial runs to max_t
    if r.scheduler in S.POPULATION_BASED:
        return pbt.scheduler(r.scheduler, r.mutations, r.config_cls, r.max_t, r.seed)
    # Ray's synchronous HyperBandScheduler pauses trials until a bracket fills, which a searcher that limits
    # concurrency never lets happen; the asynchronous one (Li et al. 2020, section 3.3) does not pause
    brackets = HYPERBAND_BRACKETS if r.scheduler == "hyperband" else 1
    return AsyncHyperBandScheduler(time_attr="training_iteration", max_t=r.max_t,
                                   grace_period=min(r.profile.grace_period, r.max_t),
                                   reduction_factor=r.profile.reduction_factor, brackets=brackets)  # = ASHAScheduler


@dataclass(frozen=True)
class Population:
    """PBT's search algorithm: the searcher's population as fixed points (Ray's PBT refuses a Searcher), with no
    concurrency limit (paused trials would count against it and the population would never meet); Tune needs
    every key of the points in its param_space (as None: the points set them)."""

    search: BasicVariantGenerator
    size: int
    param_space: dict[str, None]


def population_search(r: Resolved, searcher: CappedTPESearch) -> Population:
    points = pbt.population(searcher, r.num_samples)
    keys = dict.fromkeys(k for point in points for k in point)
    return Population(BasicVariantGenerator(points_to_evaluate=points), len(points), keys)


def build_tuner(r: Resolved, data: SplitData, assets: dict, searcher: SearchAlgorithm | Searcher, resources: Resources,
                storage_path: str, name: str, callbacks: list, num_samples: int | None = None,
                fifo: bool = False, verbose: bool = False, param_space: dict | None = None) -> tune.Tuner:
    """The search's Tuner (``r``'s scheduler), or with ``fifo`` one whose every trial trains to the end;
    ``verbose``: Ray's own output (its status table), else none (genstudy's view: study.progress)."""
    trainable = make_trainable(r, data, assets, resources)
    scheduler = make_scheduler(r, fifo)
    actor_reuse.keep_launched_actors()  # reuse_actors=True without Tune's swap of a launching actor
    # PBT copies a trial's latest checkpoint into another: Tune must not delete it first
    keep = None if isinstance(scheduler, PopulationBasedTraining) else 2  # PB2 is one too
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=r.study.metric, mode=r.study.mode, search_alg=searcher,
            scheduler=scheduler, num_samples=num_samples or r.num_samples, reuse_actors=True),
        run_config=tune.RunConfig(
            name=name, storage_path=storage.pyarrow_uri(storage_path), callbacks=[JsonLoggerCallback(), *callbacks],
            verbose=1 if verbose else 0,  # 1: Ray's status table (--verbose); per-trial results are in MLflow
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=keep, checkpoint_score_attribute=r.study.metric, checkpoint_score_order=r.study.mode),
            failure_config=tune.FailureConfig(max_failures=2),
        ),
    )


class FixedPointsSearch(Searcher):
    """Hands Tune a fixed list of full configurations, each once, at most ``max_concurrent`` at a time
    (the confirmation's top configurations with fresh seeds); its state is JSON."""

    def __init__(self, points: list[dict[str, Any]], metric: str, mode: str, max_concurrent: int):
        super().__init__(metric=metric, mode=mode)
        self.points, self.max_concurrent = points, max_concurrent
        self.next, self.live = 0, set()

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        self.max_concurrent = max_concurrent
        return True

    def suggest(self, trial_id: str) -> dict | str | None:
        if self.next >= len(self.points):
            return Searcher.FINISHED
        if len(self.live) >= self.max_concurrent:
            return None
        self.next += 1
        self.live.add(trial_id)
        return dict(self.points[self.next - 1])

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        self.live.discard(trial_id)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w", encoding="utf-8") as f:
            json.dump({"next": self.next, "points": self.points, "live": sorted(self.live)}, f, default=str)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, encoding="utf-8") as f:
            state = json.load(f)
        self.next, self.points, self.live = int(state["next"]), state["points"], set(state["live"])


def restore_tuner(path: str, r: Resolved, data: SplitData, assets: dict, resources: Resources,
                  ended: dict[str, dict], resume_errored: bool = False) -> tune.Tuner:
    """Tune's restore: finished trials stay finished, unfinished ones continue from their last
    checkpoint, and the searcher and callbacks get back their saved state. ``ended``: trials that
    MLflow records as ended after Tune's last snapshot; they report their result, not train again.
    ``resume_errored``: errored trials continue too (a study stopped by a full disk: its trials failed
    for want of space, not for what they are)."""
    return tune.Tuner.restore(storage.pyarrow_uri(path),
                              trainable=make_trainable(r, data, assets, resources, ended),
                              resume_unfinished=True, resume_errored=resume_errored)
