"""Building the Tuner: TPE searcher, ASHA scheduler, resources, checkpoints, failure policy."""

from __future__ import annotations

from dataclasses import dataclass

from ray import tune
from ray.tune.logger import JsonLoggerCallback
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

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
        n_startup_trials=min(5, max(1, r.num_samples // 3)), max_concurrent=r.max_concurrent,
        sampler=r.searcher, grid=r.grid)
    return CappedTPESearch(settings, metric=r.study.metric, mode=r.study.mode)


def make_trainable(r: Resolved, data: SplitData, assets: dict, resources: Resources,
                   ended: dict[str, dict] | None = None):
    return tune.with_resources(  # data and assets go into the object store once, not once per trial
        tune.with_parameters(run_trial, family=r.family.name, data=data, assets=assets, metric=r.study.metric,
                             ended=ended),
        {"cpu": resources.cpus_per_trial, "gpu": resources.gpus_per_trial})


def build_tuner(r: Resolved, data: SplitData, assets: dict, searcher: CappedTPESearch, resources: Resources,
                storage_path: str, name: str, callbacks: list) -> tune.Tuner:
    trainable = make_trainable(r, data, assets, resources)
    if r.scheduler == "fifo":
        scheduler = FIFOScheduler()  # every trial runs to max_t
    else:
        scheduler = ASHAScheduler(time_attr="training_iteration", max_t=r.max_t,
                                  grace_period=min(r.profile.grace_period, r.max_t),
                                  reduction_factor=r.profile.reduction_factor)
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            metric=r.study.metric, mode=r.study.mode, search_alg=searcher,
            scheduler=scheduler, num_samples=r.num_samples, reuse_actors=True),
        run_config=tune.RunConfig(
            name=name, storage_path=storage_path, callbacks=[JsonLoggerCallback(), *callbacks],
            verbose=1,  # the status table; per-trial results are in MLflow
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=2, checkpoint_score_attribute=r.study.metric, checkpoint_score_order=r.study.mode),
            failure_config=tune.FailureConfig(max_failures=2),
        ),
    )


def restore_tuner(path: str, r: Resolved, data: SplitData, assets: dict, resources: Resources,
                  ended: dict[str, dict]) -> tune.Tuner:
    """Tune's restore: finished trials stay finished, unfinished ones continue from their last
    checkpoint, and the searcher and callbacks get back their saved state. ``ended``: trials that
    MLflow records as ended after Tune's last snapshot; they report their result, not train again."""
    return tune.Tuner.restore(path, trainable=make_trainable(r, data, assets, resources, ended),
                              resume_unfinished=True, resume_errored=False)
