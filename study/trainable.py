"""The function Ray Tune runs for each trial: a thin adapter from Tune to ``family.fit``."""

from __future__ import annotations

import logging

import torch
from ray import tune

from trainables.data import ImageData
from trainables.families import FAMILIES


def run_trial(config: dict, family: str, data: ImageData, assets: dict, metric: str) -> None:
    """Train one trial; ``data`` comes through Ray's object store, read once per study.

    ``metric`` is reported first, so Tune's progress table shows it among its four columns.
    """
    logging.getLogger("ray").setLevel(logging.WARNING)  # no "checkpoint created" line per epoch
    fam = FAMILIES[family]
    cfg = fam.make_config(config)  # a typo or a bad value fails here, before any work
    cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))  # as many threads as CPUs Ray gave the trial

    def report(metrics: dict, checkpoint_dir: str | None) -> None:
        checkpoint = tune.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
        first = {metric: metrics[metric]} if metric in metrics else {}
        tune.report({**first, **metrics}, checkpoint=checkpoint)

    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        fam.fit(cfg, report, data, assets=assets)
    else:
        with checkpoint.as_directory() as d:
            fam.fit(cfg, report, data, resume_from=d, assets=assets)
