"""The confirmation phase of ``study.run``: after the search, its top configurations again with fresh seeds.

It runs as a second Tune experiment, ``<study run>-confirm``, beside the search's in the same storage
path, so ``--resume`` of a study killed during it restores that experiment (the finished search is
restored too, and returns at once: nothing is searched again). What it confirms is derived again
from MLflow on every run, so a resume confirms the same configurations with the same seeds.
"""

from __future__ import annotations

from record import reader
from record import schema as S
from record.errors import RecordUnavailable
from record.store import retry
from record.writer import flush_all, unwritten
from study import confirm, invocation, storage, tune_state
from study.final import measure_runs
from study.mlflow_inputs import dataset_input
from study.resolve import Resolved, parse_sets, run_name_keys
from trainables.vae_nll import nelbo_note

SUFFIX = "-confirm"


def config_of(client, run_id: str, r: Resolved) -> dict:
    """A search trial's full config, typed, from its MLflow params (exactly the config it trained)."""
    params = retry(client.get_run, run_id).data.params
    return parse_sets([f"{k}={v}" for k, v in params.items()], r.config_cls)


def run(r: Resolved, writer, exp_id: str, parent_id: str, exp_dir: str, storage_path: str, data,
        assets: dict, resources, run_tags: dict[str, str], data_root, verbose: bool = False) -> bool:
    """Train the top ``r.confirm`` configurations with ``r.confirm_seeds`` fresh seeds each, measure the family's
    final metrics on each finished run's kept checkpoint, record mean ± sd on the parent run and print it.
    Returns True when the phase was interrupted (resume continues it)."""
    from ray.tune import Tuner

    from study.mlflow_callback import MLflowTrialLogger
    from study.progress import views
    from study.tuner import FixedPointsSearch, build_tuner, restore_tuner

    client = writer.client
    outcomes = reader.outcomes(client, exp_id, parent_id, r.study.metric, r.study.mode, r.study.test_metric)
    configs = {t: config_of(client, o.run_id, r) for t, o in outcomes.items() if o.best is not None}
    cands = confirm.candidates({t: outcomes[t] for t in configs}, configs, r.confirm, r.study.mode)
    if not cands:
        return False
    seeds = confirm.fresh_seeds(r.seed, r.confirm_seeds)
    points = confirm.points(cands, seeds)
    print(f"confirmation: training the top {len(cands)} configurations again with seeds {seeds} "
          f"({len(points)} trials, no early stopping)")
    confirm_dir = exp_dir + SUFFIX
    if Tuner.can_restore(confirm_dir):
        ended = invocation.ended_trials(client, exp_id, parent_id, r.study.metric)
        full = reader.any_killed_by(client, exp_id, parent_id, S.DISK_FULL)
        local = storage.local_path(confirm_dir)
        if local is not None:
            tune_state.repair(local)
        tuner = restore_tuner(confirm_dir, r, data, assets, resources, ended, resume_errored=full)
    else:
        logger = MLflowTrialLogger(writer.uri, exp_id, parent_id, r.study.name, r.study.metric, r.study.mode, r.max_t,
                                   storage.staging_dir(confirm_dir), run_tags=run_tags,
                                   config_tags=confirm.point_tags(cands, seeds), name_keys=run_name_keys(r),
                                   dataset=dataset_input(data, data_root), name_prefix="confirm",
                                   spool_dir=str(storage.spool_dir(confirm_dir)),
                                   tune_state_dir=None if storage.local_path(confirm_dir) is None else
                                   str(storage.local_path(confirm_dir)), metric_names=r.family.metric_names)
        searcher = FixedPointsSearch(points, r.study.metric, r.study.mode, r.max_concurrent)
        view = views(r, "confirmation", len(points), verbose, fifo=True, prefix="confirm")
        tuner = build_tuner(r, data, assets, searcher, resources, storage_path, storage.name(confirm_dir),
                            [logger, *view], num_samples=len(points), fifo=True, verbose=verbose)
    tuner.fit()
    flush_all()
    if unwritten()[0]:  # the store went away: MLflow cannot tell how the confirmation ended yet
        raise RecordUnavailable("the tracking store stopped answering during the confirmation")
    runs = reader.outcomes(client, exp_id, parent_id, r.study.metric, r.study.mode, r.study.test_metric,
                           phase=S.CONFIRM)
    rows = confirm.summarise(cands, runs, r.study.mode, measure_finished(writer, runs, r, data))
    confirm.record(writer, parent_id, rows, r.study.metric, r.study.test_metric, len(seeds))
    for line in confirm.summary_lines(rows, r.study.metric, r.study.test_metric, len(seeds)):
        print(line)
    note = nelbo_note(r.study.metric, cands[0].config)
    if note is not None:
        print(f"  {r.study.metric} and {r.study.test_metric}: {note}")
    return sum(o.status in (S.FINISHED, S.FAILED) for o in runs.values()) < len(points)


def measure_finished(writer, runs: dict, r: Resolved, data) -> dict[str, dict[str, float]]:
    """The family's final metrics of every finished confirmation run (``runs``: trial id -> outcome) that kept a
    checkpoint, logged on that run: run id -> values."""
    done = [(o.run_id, o.best_report, f"confirmation trial {t} (of trial {o.confirm_of})")
            for t, o in sorted(runs.items())
            if o.status == S.FINISHED and o.best is not None and o.best_report is not None]
    return measure_runs(writer, done, r.family, data, "confirmation runs")
