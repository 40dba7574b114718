"""The one writer of a study's MLflow record: every write the driver makes goes through :class:`Writer`.

It owns the layout (:mod:`record.schema`): which tags, params, metrics and artifacts a parent run and a
trial's run carry, and how a run is ended. Writes are queued and done in order by one background
thread (:mod:`record.queue`), with metrics batched and transient errors retried; a write that needs
its answer (a new run's id) waits for the queue first. Reads go through :mod:`record.reader`.
"""

from __future__ import annotations

import json
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, Iterable, Mapping

from record import reader
from record import schema as S
from record.queue import QueueStats, WriteQueue
from record.references import Reference
from record.store import experiment_id, retry

MAX_PARAMS_PER_BATCH = 100  # MLflow's limit for params in one log_batch
MAX_TAG_VALUE = 4000  # an error's text is cut to this many characters


def _now_ms() -> int:
    return int(time.time() * 1000)


_LIVE: "weakref.WeakSet[Writer]" = weakref.WeakSet()  # every open writer of this process (flush_all)


def flush_all() -> None:
    """Wait until every queued write of every writer of this process is done (before the driver exits)."""
    for writer in list(_LIVE):
        writer.flush()


def unwritten() -> tuple[int, int]:
    """(writes kept in a spool, writes the store refused) over every writer of this process."""
    writers = list(_LIVE)
    spools = {w.spool_dir for w in writers if w.spool_dir is not None}
    from record.spool import pending

    return sum(pending(d) for d in spools), sum(len(w.failures) for w in writers)


def queue_stats() -> QueueStats:
    """What every writer of this process did so far, added up (the peak depth: the largest)."""
    return sum((w.stats for w in list(_LIVE)), QueueStats())


class Writer:
    """Every MLflow write of a study, in order. ``failures`` lists the writes the store refused; ``spooled``
    counts those kept on local disk (``spool_dir``) while it did not answer (:mod:`record.queue`)."""

    def __init__(self, uri: str, spool_dir: str | Path | None = None):
        self.uri = uri
        self._queue = WriteQueue(uri, spool_dir)
        _LIVE.add(self)

    @property
    def spooled(self) -> int:
        return self._queue.spooled

    @property
    def spool_dir(self) -> Path | None:
        return self._queue.spool_dir

    def spool_to(self, folder: str | Path) -> None:
        """Keep writes in ``folder`` while the store does not answer (set once the study's folder is known)."""
        self._queue.spool_to(folder)

    @property
    def client(self):
        """The MLflow client the writes go through (for reads that must see them: call :meth:`flush` first)."""
        return self._queue.client

    @property
    def failures(self) -> list[str]:
        return self._queue.failures

    @property
    def stats(self) -> QueueStats:
        return self._queue.stats

    def flush(self) -> None:
        """Wait until every queued write is done."""
        self._queue.flush()

    def close(self) -> None:
        self._queue.close()

    # --- the experiment and the parent run ------------------------------------------------------------
    def experiment(self, name: str, tags: Mapping[str, str]) -> str:
        """The id of experiment ``name`` (created if missing), with ``tags`` set on it."""
        exp_id = experiment_id(self.uri, name)
        for key, value in tags.items():
            self._queue.call("set_experiment_tag", exp_id, key, value)
        return exp_id

    def open_study(self, exp_id: str, run_name: str, *, study: str, profile: str, family: str, unit: str,
                   params: Mapping[str, Any], tags: Mapping[str, str] = (), dataset=None,
                   references: Iterable[Reference] = ()) -> str:
        """A new parent run: who it is (tags), its budgets (params), its data and its references. Returns its id."""
        from mlflow.entities import Param

        all_tags = {S.ROLE: S.ROLE_STUDY, S.STUDY: study, S.PROFILE: profile, S.FAMILY: family, S.UNIT: unit,
                    **dict(tags)}
        run_id = self._queue.call("create_run", exp_id, run_name=run_name, tags=all_tags).info.run_id
        self._params(run_id, [Param(k, str(v)) for k, v in params.items()])
        if dataset is not None:
            self._queue.later(run_id, "log_inputs", [dataset])
        refs = [r.to_dict() for r in references]
        if refs:
            self._json_artifact(run_id, S.REFERENCES_FILE, refs)
        return run_id

    def reopen_study(self, parent_id: str) -> None:
        """A resumed study's parent run is RUNNING again (and no longer says what killed it)."""
        self._untag_killed(parent_id)
        self._queue.later(parent_id, "update_run", "RUNNING")

    def end_study(self, parent_id: str, interrupted: bool, killed_by: str | None = None) -> None:
        """The parent run FINISHED, or KILLED (``killed_by``: the signal's name) to be continued by ``--resume``."""
        if killed_by:
            self._queue.later(parent_id, "set_tag", S.KILLED_BY, killed_by)
        self._queue.later(parent_id, "set_terminated", "KILLED" if interrupted else "FINISHED")
        self.flush()

    def close_stale(self, exp_id: str, parent_id: str, killed_by: str = S.DRIVER_LOST) -> int:
        """Mark KILLED the trial runs still RUNNING under ``parent_id``; returns how many.

        ``killed_by`` says why: the signal that stopped this driver, or (the default) a driver that died.
        While writes wait in a spool, MLflow's view is behind it (a run's end may be among them): nothing is
        judged stale then, and ``--resume`` does it after writing the spool.
        """
        flush_all()  # the study's callback has a writer of its own
        if unwritten()[0]:
            return 0
        stale = [r for r in reader.children(self.client, exp_id, parent_id) if r.info.status == "RUNNING"]
        for run in stale:
            self.kill_trial(run.info.run_id, killed_by)
        self.flush()
        return len(stale)

    def study_counts(self, parent_id: str, proposed: int, rejected: int, statuses: Mapping[str, int]) -> None:
        counts = {S.N_PROPOSED: proposed, S.N_REJECTED_CAP: rejected,
                  **{S.n_status(k): v for k, v in statuses.items()}}
        self._metrics(parent_id, counts, step=0)

    def tracking_stats(self, parent_id: str, stats: QueueStats) -> None:
        """How the writes kept up, on the parent run (``stats``: :func:`queue_stats` after the search)."""
        self._metrics(parent_id, {S.TRACKING_STORE_CALLS: stats.store_calls,
                                  S.TRACKING_METRIC_VALUES: stats.metric_values,
                                  S.TRACKING_QUEUE_PEAK: stats.peak_depth, S.TRACKING_BUSY_S: stats.busy_s}, step=0)

    def rejected(self, parent_id: str, rows: list[dict[str, Any]]) -> None:
        """``rejected.json``: every configuration kept out of training by the parameter cap."""
        if rows:
            self._json_artifact(parent_id, S.REJECTED_FILE, rows)

    def best(self, parent_id: str, trial_id: str, run_id: str, config: Mapping[str, str],
             values: Mapping[str, float]) -> None:
        """The best trial on the parent run: ``best.*`` params (those not logged by an earlier run of a
        resumed study), its ``best_<metric>`` values, its ids as tags and ``best_config.json``."""
        from mlflow.entities import Param

        self.flush()
        existing = retry(self.client.get_run, parent_id).data.params
        self._params(parent_id, [Param(S.BEST_PREFIX + k, str(v)) for k, v in config.items()
                                 if S.BEST_PREFIX + k not in existing])
        self._metrics(parent_id, values, step=0)
        for key, value in {S.BEST_TRIAL_ID: trial_id, S.BEST_RUN_ID: run_id}.items():
            self._queue.later(parent_id, "set_tag", key, value)
        self._json_artifact(parent_id, S.BEST_CONFIG_FILE, dict(config))
        self.flush()

    def final_metrics(self, run_id: str, values: Mapping[str, float], step: int) -> None:
        """What the family measures once on a run's kept checkpoint when the study ends (``Family.final_metrics``),
        at that checkpoint's report ``step``."""
        self._metrics(run_id, values, step=step)
        self.flush()

    def published(self, run_ids: Iterable[str], model_uri: str) -> None:
        for run_id in run_ids:
            self._queue.later(run_id, "set_tag", S.BEST_MODEL_URI, model_uri)
        self.flush()

    def confirmation(self, parent_id: str, values: Mapping[str, float], order_changed: bool, n_seeds: int,
                     best_trial_id: str | None, doc: dict[str, Any]) -> None:
        """The confirmation's mean and sd per configuration (``values``), its verdict and ``confirmation.json``."""
        self._metrics(parent_id, values, step=0)
        tags = {S.CONFIRM_ORDER_CHANGED: str(order_changed).lower(), S.CONFIRM_SEEDS: str(n_seeds)}
        if best_trial_id is not None:
            tags[S.CONFIRM_BEST_TRIAL_ID] = best_trial_id
        for key, value in tags.items():
            self._queue.later(parent_id, "set_tag", key, value)
        self._json_artifact(parent_id, S.CONFIRM_FILE, doc)
        self.flush()

    # --- a trial's run --------------------------------------------------------------------------------
    def start_trial(self, exp_id: str, parent_id: str, run_name: str, *, study: str, trial_id: str,
                    config: Mapping[str, Any], tags: Mapping[str, str] = (), dataset=None) -> str:
        """A new child run for a trial: its identity as tags, its full config as params. Returns its id."""
        from mlflow.entities import Param

        all_tags = {**dict(tags), S.PARENT_RUN_ID: parent_id, S.STUDY: study, S.TRIAL_ID: trial_id}
        run_id = self._queue.call("create_run", exp_id, tags=all_tags, run_name=run_name, after_queued=False).info.run_id
        self._params(run_id, [Param(k, str(v)) for k, v in sorted(config.items())])
        if dataset is not None:
            self._queue.later(run_id, "log_inputs", [dataset])
        return run_id

    def continue_trial(self, run_id: str, trial_id: str | None = None) -> None:
        """A trial restarted after a failure or a resume: its run is RUNNING again (and, given ``trial_id``, held by
        that trial from now on: a trial Tune made anew for the same confirmation point)."""
        self._untag_killed(run_id)
        if trial_id is not None:
            self._queue.later(run_id, "set_tag", S.TRIAL_ID, trial_id)
        self._queue.later(run_id, "update_run", "RUNNING")

    def report(self, run_id: str, step: int, metrics: Mapping[str, float], node_id: str | None = None,
               node_ip: str | None = None) -> None:
        """One report of a trial: its metrics at ``step`` and how many reports it has made."""
        tags = {S.REPORTS_RUN: str(step)}
        if node_id:
            tags.update({S.NODE_ID: node_id, S.NODE_IP: node_ip or ""})
        self._metrics(run_id, metrics, step, tags)  # one log_batch with the tags

    def image(self, run_id: str, image, key: str, step: int) -> None:
        """An image grid under ``key`` at ``step`` (the UI's step slider)."""
        self._queue.later(run_id, "log_image", image, key=key, step=step)

    def checkpoint(self, run_id: str, folder: str) -> None:
        """Log the files of a trial's kept checkpoint, then delete the (staged) folder."""
        self._queue.later(run_id, "log_artifacts", folder, cleanup=folder)

    def end_trial(self, run_id: str, status: str, reports: int, max_t: int, error: str | None = None,
                  best: tuple[str, float] | None = None) -> None:
        """How a trial ended: ``status`` (schema.ENDED), reports made, why it stopped or failed, and
        ``best`` = (``best_<metric>``, the value the study ranks it by)."""
        tags = {S.STATUS: status, S.REPORTS_RUN: str(reports)}
        if status == S.STOPPED_EARLY:
            tags[S.STOPPED_BY] = S.stopped_by(reports, max_t)
        if error:
            tags[S.ERROR] = error[:MAX_TAG_VALUE]
            tags[S.FAILURE_REASON] = S.failure_reason(error)
        best_metric = {best[0]: best[1]} if best is not None else {}
        self._metrics(run_id, best_metric, step=reports, tags=tags)  # one log_batch with the tags
        self._queue.later(run_id, "set_terminated", "FINISHED" if status in S.TRAINED else "FAILED")

    def lineage(self, run_id: str, events: list[dict[str, Any]]) -> None:
        """A PBT trial's exploits so far (schema.PBT_LINEAGE): the count and the latest that fit as tags, all
        of them as an artifact."""
        shown = list(events)
        while len(shown) > 1 and len(json.dumps(shown, default=str)) > MAX_TAG_VALUE:
            shown.pop(0)
        self._queue.later(run_id, "set_tag", S.PBT_EXPLOITS, str(len(events)))
        self._queue.later(run_id, "set_tag", S.PBT_LINEAGE, json.dumps(shown, default=str)[:MAX_TAG_VALUE])
        self._json_artifact(run_id, S.PBT_LINEAGE_FILE, events)

    def kill_trial(self, run_id: str, killed_by: str = S.DRIVER_LOST) -> None:
        """A trial whose driver is gone or was interrupted: KILLED, to be continued by ``--resume``."""
        self._queue.later(run_id, "set_tag", S.STATUS, S.KILLED)
        self._queue.later(run_id, "set_tag", S.KILLED_BY, killed_by)
        self._queue.later(run_id, "set_terminated", "KILLED")

    # --- the published model ----------------------------------------------------------------------------
    def log_model(self, run_id: str, exp_id: str, module, name: str, step: int, signature, input_example,
                  pip_requirements: list[str], tags: Mapping[str, str]):
        """``mlflow.pytorch.log_model`` as a ``torch.export`` program (no pickle) on ``run_id``; returns its info."""
        import mlflow

        self.flush()
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_experiment(experiment_id=exp_id)  # the logged model belongs to the study's experiment
        return retry(mlflow.pytorch.log_model, module, name=name, run_id=run_id, step=step, signature=signature,
                     input_example=input_example, serialization_format="pt2", pip_requirements=pip_requirements,
                     tags=dict(tags))

    def register(self, model_uri: str, name: str, tags: Mapping[str, str]) -> str:
        """A new version of registered model ``name``; returns ``"NAME version N"``."""
        import mlflow

        version = retry(mlflow.register_model, model_uri, name, tags=dict(tags))
        return f"{name} version {version.version}"

    def artifact(self, run_id: str, path: str | Path) -> None:
        self._queue.call("log_artifact", run_id, str(path))

    # --- helpers ----------------------------------------------------------------------------------------
    def _untag_killed(self, run_id: str) -> None:
        self.flush()
        if S.KILLED_BY in retry(self.client.get_run, run_id).data.tags:
            self._queue.later(run_id, "delete_tag", S.KILLED_BY)

    def _params(self, run_id: str, params: list) -> None:
        for i in range(0, len(params), MAX_PARAMS_PER_BATCH):
            self._queue.later(run_id, "log_batch", (), params[i:i + MAX_PARAMS_PER_BATCH])

    def _metrics(self, run_id: str, values: Mapping[str, float], step: int,
                 tags: Mapping[str, str] | None = None) -> None:
        from mlflow.entities import Metric

        now = _now_ms()
        self._queue.metrics(run_id, [Metric(k, float(v), now, step) for k, v in values.items()], dict(tags or {}))

    def _json_artifact(self, run_id: str, name: str, doc: Any) -> None:
        folder = tempfile.mkdtemp(prefix="genstudy-record-")
        (Path(folder) / name).write_text(json.dumps(doc, indent=2, default=str))
        self._queue.later(run_id, "log_artifact", str(Path(folder) / name), cleanup=folder)
