"""One invocation of a study, once its input is checked: set-up, the search, the confirmation, the end.

The set-up overlaps three slow things (Ray's start, loading the data, MLflow's set-up: a new database's
schema and the parent run); no MLflow run is made before the data has loaded, so a data error (exit 2)
leaves no run behind. A signal (:mod:`study.interrupts`) at any point ends the invocation gracefully:
every queued write is written, the parent run and the unfinished trial runs are marked KILLED with the
signal's name, and the ``--resume`` command is printed.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from record import objectives, reader, spool
from record import schema as S
from record.errors import RecordUnavailable, UsageError
from record.store import retry
from record.writer import Writer, flush_all, queue_stats, unwritten
from study import checks, confirm_phase, invocation, mlflow_ui, ray_start, storage, tune_state
from study.best import finish
from study.interrupts import EXIT_RECORD, Interrupted, Interrupts, Stopped
from study.mlflow_inputs import dataset_input
from study.resolve import Resolved, run_name_keys, searched_keys
from trainables.data import DataUnavailable, check_splits



def source_tags() -> dict[str, str]:
    """MLflow's own source tag, ``mlflow.source.git.commit`` (the UI shows it), when genstudy runs from a git checkout."""
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT

    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return {}
    commit = out.stdout.strip()
    return {MLFLOW_GIT_COMMIT: commit} if out.returncode == 0 and commit else {}


@dataclass
class Record:
    """Where this invocation is recorded: its writer, Tune's experiment folder, the MLflow ids."""

    writer: Writer
    exp_dir: str  # a folder or a URI (study.storage)
    exp_id: str
    parent_id: str


class Driver:
    """Runs one invocation; :meth:`run` returns the exit code."""

    def __init__(self, r: Resolved, args, uri: str, data_root: Path, resumed, interrupts: Interrupts):
        self.r, self.args, self.uri, self.data_root, self.resumed = r, args, uri, data_root, resumed
        self.interrupts = interrupts
        self.storage_path = storage.resolve(args.storage_path)
        self.record: Record | None = None

    def run(self) -> int:
        import ray

        code, interrupted = 1, False
        try:
            try:
                data = self._set_up()
                code, interrupted = self._study(data)
            finally:
                ray.shutdown()
            if self.interrupts.signum is None:
                self.record.writer.end_study(self.record.parent_id, interrupted)
        except Interrupted:
            pass
        except RecordUnavailable as e:
            return self._record_unavailable(str(e))
        except Stopped as e:
            if e.exit_code == EXIT_RECORD:
                return self._record_unavailable(e.reason)
            return self._stopped(e)
        if self.interrupts.signum is not None:
            return self._stopped_by_signal()
        if interrupted:
            print(f"study.run: {self.r.study.name} was interrupted; continue it with: {self._resume_command()}",
                  file=sys.stderr)
        return self._unwritten() or code

    # --- the parts ----------------------------------------------------------------------------------
    def _set_up(self):
        """Ray, the data and the MLflow record, overlapped; returns the data."""
        import ray

        r = self.r
        with ThreadPoolExecutor(2, thread_name_prefix="genstudy-setup") as pool:
            loading = pool.submit(_load_data, r, self.data_root)
            setup = pool.submit(self._open_record, loading)
            # Tune keeps one trial pending at a time for a custom searcher; allow as many as may run at once
            os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(r.max_concurrent))
            try:
                self.interrupts.keep_from_ray()
                # "local": a private instance, never one that a `ray start` on this machine happens to run
                ray_start.init(checks.ray_address(self.args.address) or "local", include_dashboard=False,
                               log_to_driver=True, configure_logging=True, logging_level="WARNING")
                self.interrupts.install(deferred=True)  # Ray's core worker installs a SIGTERM handler of its own
                self.interrupts.hand_to_tune()
                data = loading.result()
            finally:
                try:
                    self.record = setup.result()  # wait for the set-up thread, even when interrupted
                except UsageError:
                    if self.interrupts.signum is None:
                        raise
        self.interrupts.arm()  # a signal during the set-up stops the study here, its record open
        rec = self.record
        checks.cluster_fits(ray.cluster_resources(), self.args, r,
                            on_refuse=lambda: rec.writer.end_study(rec.parent_id, True))
        return data

    def _study(self, data) -> tuple[int, bool]:
        """The search, the best trial and the confirmation; returns (exit code, interrupted)."""
        import ray

        from study.mlflow_callback import MLflowTrialLogger
        from study.progress import views as progress_views
        from study.tuner import Resources, build_tuner, make_searcher, population_search, restore_tuner

        r, rec, args = self.r, self.record, self.args
        gpus = args.gpus_per_trial
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        resources = Resources(args.cpus_per_trial or r.profile.cpus_per_trial, gpus)
        assets = r.family.prepare(data, self.data_root) if r.family.prepare else {}
        searcher = make_searcher(r)
        # PBT: the population is drawn here (again on --resume: the same seed draws the same, for the summary)
        population = population_search(r, searcher) if r.scheduler in S.POPULATION_BASED else None
        if self.resumed is None:
            logger = MLflowTrialLogger(self.uri, rec.exp_id, rec.parent_id, r.study.name, r.study.metric,
                                       r.study.mode, r.max_t, storage.staging_dir(rec.exp_dir),
                                       run_tags={**source_tags(), S.PHASE: S.SEARCH}, name_keys=run_name_keys(r),
                                       dataset=dataset_input(data, self.data_root),
                                       spool_dir=str(storage.spool_dir(rec.exp_dir)),
                                       tune_state_dir=_local(rec.exp_dir), mutable=tuple(r.mutations),
                                       metric_names=r.family.metric_names)
            views = progress_views(r, "search", r.num_samples, args.verbose)
            tuner = build_tuner(r, data, assets, population.search if population else searcher, resources,
                                self.storage_path, storage.name(rec.exp_dir), [logger, *views],
                                num_samples=population.size if population else None, verbose=args.verbose,
                                param_space=population.param_space if population else None)
        else:
            if _local(rec.exp_dir) and tune_state.repair(_local(rec.exp_dir)):
                print(f"resuming: Tune's state in {rec.exp_dir} did not read (a disk that filled while Tune wrote "
                      "it?): its last whole copy is restored; trials continue from the checkpoints it names")
            ended = invocation.ended_trials(rec.writer.client, rec.exp_id, rec.parent_id, r.study.metric)
            full = reader.any_killed_by(rec.writer.client, rec.exp_id, rec.parent_id, S.DISK_FULL)
            tuner = restore_tuner(rec.exp_dir, r, data, assets, resources, ended, resume_errored=full)
        with self.interrupts.tuning():
            tuner.fit()
        flush_all()
        if unwritten()[0]:  # the store went away during the search: MLflow cannot tell how it ended yet
            raise RecordUnavailable("the tracking store stopped answering during the search")
        rec.writer.tracking_stats(rec.parent_id, queue_stats())
        if population is None:  # the searcher's final state, saved by Tune (PBT's is the population drawn above)
            with tempfile.TemporaryDirectory(prefix="genstudy-searcher-") as tmp:
                storage.download(rec.exp_dir, ".pkl", Path(tmp))
                searcher.restore_from_dir(tmp)
        interrupted = rec.writer.close_stale(rec.exp_id, rec.parent_id) > 0 or searcher.proposed < r.num_samples
        code = finish(r, rec.writer, rec.exp_id, rec.parent_id, searcher, data, args.register,
                      publish_model=not args.no_publish)
        if code == 0 and not interrupted and r.confirm > 0:
            with self.interrupts.tuning():
                interrupted = confirm_phase.run(r, rec.writer, rec.exp_id, rec.parent_id, rec.exp_dir,
                                                self.storage_path, data, assets, resources, source_tags(),
                                                self.data_root, verbose=args.verbose)
            interrupted |= rec.writer.close_stale(rec.exp_id, rec.parent_id) > 0
        return code, interrupted

    def _open_record(self, loading) -> Record:
        """The parent MLflow run and the record ``--resume`` reads: a new one, or the resumed study's
        (whose runs left RUNNING by a dead driver are marked KILLED)."""
        r, args = self.r, self.args
        writer = Writer(self.uri)  # a new SQLite database gets its schema here (seconds)
        data = loading.result()  # the data loaded (or this raises its error): only now are runs made or changed
        if self.resumed is not None:
            rec = self.resumed.record
            exp_dir, exp_id, parent_id = self.resumed.path, rec["experiment_id"], rec["parent_run_id"]
            writer.spool_to(storage.spool_dir(exp_dir))
            self.record = Record(writer, exp_dir, exp_id, parent_id)
            if writer.spooled:  # writes kept while the store was away: first, in the order they were made
                n = spool.replay(writer.spool_dir, writer.client, retry)
                print(f"resuming: {n} MLflow writes kept while the tracking store did not answer are written")
            stale = writer.close_stale(exp_id, parent_id)
            writer.reopen_study(parent_id)
            print(f"resuming {exp_dir} (MLflow parent run {parent_id}; {stale} stale runs marked KILLED)")
            return Record(writer, exp_dir, exp_id, parent_id)
        exp_id = writer.experiment(r.study.name, mlflow_ui.experiment_tags(
            r.study.name, r.study.description, r.study.metric, r.study.mode, r.study.test_metric, searched_keys(r)))
        name = f"{r.study.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        exp_dir = storage.join(self.storage_path, name)
        writer.spool_to(storage.spool_dir(exp_dir))
        tags = source_tags()
        if args.from_config:
            tags[S.FROM_CONFIG] = str(Path(args.from_config).resolve())
        parent_id = writer.open_study(exp_id, name, study=r.study.name, profile=r.profile_name, family=r.family.name,
                                      unit=r.family.unit, params=_parent_params(r), tags=tags,
                                      dataset=dataset_input(data, self.data_root), references=r.study.references)
        invocation.save(exp_dir, args, parent_id, exp_id, self.uri, self.data_root, r.study.metric)
        return Record(writer, exp_dir, exp_id, parent_id)

    def _stopped_by_signal(self) -> int:
        """Write everything queued, mark what did not finish KILLED with the signal's name, say how to resume."""
        name, rec = self.interrupts.name, self.record
        flush_all()
        if rec is None:  # stopped before the parent run existed: nothing to continue
            print(f"study.run: stopped by {name} before the study started; nothing was recorded", file=sys.stderr)
            return self.interrupts.exit_code
        try:
            rec.writer.close_stale(rec.exp_id, rec.parent_id, killed_by=name)
            rec.writer.end_study(rec.parent_id, interrupted=True, killed_by=name)
        except RecordUnavailable as e:
            return self._record_unavailable(f"{e} (stopping on {name})", self.interrupts.exit_code)
        print(f"study.run: stopped by {name}; continue it with: {self._resume_command()}", file=sys.stderr)
        return self.interrupts.exit_code

    def _stopped(self, e: Stopped) -> int:
        """The study stopped itself (a full disk): unfinished runs KILLED with the reason; resumable."""
        rec = self.record
        why = e.reason.split(":", 1)[0]  # the KILLED_BY tag: "disk full"
        rec.writer.close_stale(rec.exp_id, rec.parent_id, killed_by=why)
        rec.writer.end_study(rec.parent_id, interrupted=True, killed_by=why)
        print(f"study.run: the study stopped: {e.reason}; once that is mended, continue it with: "
              f"{self._resume_command()}", file=sys.stderr)
        return e.exit_code

    def _record_unavailable(self, reason: str, code: int = EXIT_RECORD) -> int:
        """The tracking store went away for longer than the driver waits: the writes it could not make are
        in the spool; ``--resume`` writes them once it answers, and continues the study."""
        flush_all()
        where = self.record.writer.spool_dir if self.record else None
        kept = f"; {spool.pending(where)} writes are kept in {where}" if where else ""
        print(f"study.run: the study stopped: {reason}{kept}; once the tracking server answers, continue with: "
              f"{self._resume_command()}", file=sys.stderr)
        return code

    def _unwritten(self) -> int:
        """EXIT_RECORD when some of the record is not in MLflow (spooled, or refused by the store), else 0."""
        spooled, refused = unwritten()
        if not spooled and not refused:
            return 0
        where = self.record.writer.spool_dir
        what = [f"{spooled} writes are kept in {where} (the tracking store did not answer)"] if spooled else []
        what += [f"{refused} writes were refused by the store (listed above)"] if refused else []
        print(f"study.run: the study ran, but its MLflow record is incomplete: {'; '.join(what)}; "
              f"write the kept ones with: {self._resume_command()}", file=sys.stderr)
        return EXIT_RECORD

    def _resume_command(self) -> str:
        return f"python -m study.run {self.r.study.name} --resume --storage-path {self.storage_path}"


def _local(exp_dir: str) -> str | None:
    """The experiment folder when it is on a local disk (its Tune state is backed up there), else None."""
    local = storage.local_path(exp_dir)
    return None if local is None else str(local)


def _load_data(r: Resolved, data_root: Path):
    """The family's data (train, validation and test splits), loaded once in the driver."""
    try:
        data = r.family.load_data(r.fixed, data_root)
    except DataUnavailable as e:
        raise UsageError(str(e)) from None
    check_splits(data)  # a family without a validation split is a bug, not bad input
    return data


def _parent_params(r: Resolved) -> dict[str, object]:
    """The parent run's params: the study's metric and budgets, its fixed values, grid axes, objectives and PBT's."""
    pbt = {}
    if r.mutations:
        from study.pbt import interval

        pbt = {S.PBT_INTERVAL: interval(r.max_t), S.PBT_MUTATIONS: ",".join(r.mutations)}
    return {**pbt, S.PROFILE: r.profile_name, S.NUM_SAMPLES: r.num_samples, S.MAX_EPOCHS: r.max_epochs, S.MAX_T: r.max_t,
            S.METRIC: r.study.metric, S.MODE: r.study.mode, S.TEST_METRIC: r.study.test_metric,
            S.PARAM_CAP: r.param_cap, S.GRACE_PERIOD: r.profile.grace_period,
            S.REDUCTION_FACTOR: r.profile.reduction_factor, S.SEARCHER: r.searcher, S.SCHEDULER: r.scheduler,
            S.MAX_CONCURRENT: r.max_concurrent, **{S.FIXED_PREFIX + k: v for k, v in r.fixed.items()},
            **{S.GRID_PREFIX + k: ",".join(map(str, v)) for k, v in r.grid.items()},
            **({S.OBJECTIVES: objectives.encode(r.objectives)} if r.objectives else {})}
