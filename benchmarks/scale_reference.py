"""The scale benchmark's reference: the same synthetic trials through bare Ray Tune, as its docs would write it.

    python -m benchmarks.scale_reference --trials 100 --concurrency 8 --reports 4 --sleep 0.5 \\
        --address HOST:PORT --tracking-uri sqlite:///ref.db --storage-path /tmp/ref

``OptunaSearch`` (Optuna's TPE with its defaults, the first third of the trials random as genstudy's are),
``ASHAScheduler`` with genstudy's rungs, ``MLflowLoggerCallback``, ``max_concurrent_trials``, actors reused, the
default loggers on; each report writes the same ``config.json`` checkpoint as genstudy's trials
(``benchmarks.synthetic``).
"""

from __future__ import annotations

import argparse

import optuna
import ray
from ray import tune
from ray.air.integrations.mlflow import MLflowLoggerCallback
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from benchmarks import synthetic
from trainables.family import REPORT
from trainables.reporting import Reporter

EXPERIMENT = "synthetic_scale_reference"


def space(reports: int, sleep_s: float, seed: int) -> dict:
    """``benchmarks.scale_study.space`` in Tune's own terms (``lograndint``'s upper bound is exclusive)."""
    return {"x1": tune.uniform(0.0, 1.0), "x2": tune.uniform(0.0, 1.0), "x3": tune.uniform(0.0, 1.0),
            "rate": tune.loguniform(1e-4, 1e-1), "width": tune.lograndint(4, 65),
            "kind": tune.choice(list(synthetic.KINDS)), "max_epochs": reports, "sleep_s": sleep_s, "seed": seed}


def trainable(config: dict) -> None:
    cfg = synthetic.SyntheticConfig(**config)

    def report(metrics: dict, folder: str | None) -> None:
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    checkpoint = tune.get_checkpoint()
    with Reporter(synthetic.NAME, REPORT, report) as reporter:
        if checkpoint is None:
            synthetic.train(cfg, reporter, synthetic.NoData())
        else:
            with checkpoint.as_directory() as d:
                synthetic.train(cfg, reporter, synthetic.NoData(), resume_from=d)


def searcher(trials: int, seed: int) -> OptunaSearch:
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(1, trials // 3))
    return OptunaSearch(sampler=sampler)  # metric and mode: from TuneConfig


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, required=True)
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--reports", type=int, required=True)
    p.add_argument("--sleep", type=float, required=True)
    p.add_argument("--grace-period", type=int, default=1)
    p.add_argument("--reduction-factor", type=int, default=2)
    p.add_argument("--address", required=True)
    p.add_argument("--tracking-uri", required=True)
    p.add_argument("--storage-path", required=True)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    ray.init(address=a.address, include_dashboard=False, logging_level="WARNING")
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space=space(a.reports, a.sleep, a.seed),
        tune_config=tune.TuneConfig(
            metric=synthetic.VAL_SYNTHETIC, mode="min", search_alg=searcher(a.trials, a.seed), num_samples=a.trials, max_concurrent_trials=a.concurrency,
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=a.reports, grace_period=a.grace_period,
                                    reduction_factor=a.reduction_factor),
            reuse_actors=True),
        run_config=tune.RunConfig(
            name=EXPERIMENT, storage_path=a.storage_path, verbose=0,
            callbacks=[MLflowLoggerCallback(tracking_uri=a.tracking_uri, experiment_name=EXPERIMENT,
                                            save_artifact=False)],
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2)))
    tuner.fit()
    ray.shutdown()


if __name__ == "__main__":
    main()
