"""The function Ray Tune runs for each trial: a thin adapter from Tune to ``family.fit``."""

from __future__ import annotations

import logging
import math
import sys

import ray
from ray import tune

from record import schema as S
from study import lineage
from study import result_keys as keys
from trainables.data import SplitData
from trainables.families import FAMILIES
from trainables.errors import Diverged


def run_trial(config: dict, family: str, data: SplitData, assets: dict, metric: str,
              ended: dict[str, dict] | None = None) -> None:
    """Train one trial; ``data`` comes through Ray's object store, read once per study.

    ``metric`` is reported first, so Tune's progress table shows it among its four columns. A
    diverged loss or a CUDA out-of-memory error ends the trial with a last result naming the
    failure (the MLflow run ends FAILED, Optuna is told FAIL) instead of an exception, because
    Tune would retry an exception from the last checkpoint and fail the same way again.

    ``ended`` (on ``--resume``) maps trial ids that MLflow records as ended to their last result;
    such a trial reports that result and returns without training (see ``invocation.ended_trials``).
    """
    replay = (ended or {}).get(tune.get_context().get_trial_id())
    if replay is not None:
        tune.report(dict(replay))
        return
    logging.getLogger("ray").setLevel(logging.WARNING)  # no "checkpoint created" line per epoch
    fam = FAMILIES[family]
    cfg = fam.make_config(config)  # a typo or a bad value fails here, before any work
    torch = sys.modules.get("torch")  # imported by the family's code, if it uses torch (the benchmarks' does not)
    if torch is not None:
        cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
        torch.set_num_threads(max(1, int(cpus)))  # as many threads as CPUs Ray gave the trial
    node_id = ray.get_runtime_context().get_node_id()
    trial_id = tune.get_context().get_trial_id()
    copied: dict = {}  # PBT: the first report after an exploit says whose checkpoint the trial continued

    def report(metrics: dict, checkpoint_dir: str | None) -> None:
        if checkpoint_dir:
            lineage.mark(checkpoint_dir, trial_id)
        checkpoint = tune.Checkpoint.from_directory(checkpoint_dir) if checkpoint_dir else None
        first = {metric: metrics[metric]} if metric in metrics else {}
        tune.report({**first, **metrics, keys.NODE_ID: node_id, **copied}, checkpoint=checkpoint)
        copied.clear()

    try:
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            fam.fit(cfg, report, data, assets=assets)
        else:
            with checkpoint.as_directory() as d:
                origin = lineage.copied_from(d, trial_id)
                if origin is not None:
                    copied.update({keys.COPIED_FROM: origin[0], keys.COPIED_REPORT: origin[1],
                                   keys.COPIED_CONFIG: dict(config)})
                fam.fit(cfg, report, data, resume_from=d, assets=assets)
    except Diverged as e:
        tune.report({metric: math.nan, keys.FAILURE: str(e), keys.NODE_ID: node_id})
    except Exception as e:
        if not _cuda_oom(e):
            raise
        first_line = str(e).splitlines()[0] if str(e) else "out of memory"
        tune.report({metric: math.nan, keys.FAILURE: f"{S.CUDA_OOM}: {first_line}", keys.NODE_ID: node_id})


def _cuda_oom(e: BaseException) -> bool:
    torch = sys.modules.get("torch")  # no torch loaded, no CUDA error
    return torch is not None and isinstance(e, torch.cuda.OutOfMemoryError)
